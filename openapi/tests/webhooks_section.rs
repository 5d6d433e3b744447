//! The `webhooks` section documents every event type a subscription can receive.

use serde_json::Value;

fn document() -> Value {
    serde_json::from_str(&openapi::generate()).unwrap_or(Value::Null)
}

#[test]
fn every_event_type_is_a_webhook_with_an_example_of_its_own_type() {
    let document = document();
    let webhooks = document["webhooks"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let types = domain::event::EventType::ALL.map(|t| t.as_str());
    assert_eq!(webhooks.len(), types.len());
    for name in types {
        let post = &webhooks[name]["post"];
        let body = &post["requestBody"]["content"]["application/json"];
        assert_eq!(
            body["schema"]["$ref"], "#/components/schemas/EventOut",
            "{name}"
        );
        assert_eq!(body["example"]["type"], name, "{name}");
        let headers: Vec<&str> = post["parameters"]
            .as_array()
            .map(|p| p.iter().filter_map(|h| h["name"].as_str()).collect())
            .unwrap_or_default();
        assert!(headers.contains(&"Clientline-Signature"), "{name}");
    }
}
