//! The create bodies of the record types with custom fields, as the spec describes them, made
//! standalone JSON Schemas: the base of `GET /v1/schema/{record_type}`, built once from the
//! spec when the service starts.

use domain::fields::FieldRecordType;
use serde_json::{Map, Value, json};

pub struct RecordSchemas([Value; 3]);

impl RecordSchemas {
    /// Built from the published document's components.
    pub fn from_document(document: &Value) -> Self {
        let components = &document["components"]["schemas"];
        RecordSchemas(FieldRecordType::ALL.map(|t| {
            let (name, title) = match t {
                FieldRecordType::Company => ("CompanyCreate", "Company"),
                FieldRecordType::Contact => ("ContactCreate", "Contact"),
                FieldRecordType::Project => ("ProjectCreate", "Project"),
            };
            let mut schema = components[name].clone();
            let mut defs = Map::new();
            inline_refs(&mut schema, components, &mut defs);
            let mut out = Map::new();
            out.insert(
                "$schema".into(),
                json!("https://json-schema.org/draft/2020-12/schema"),
            );
            out.insert("title".into(), json!(title));
            if let Value::Object(body) = schema {
                out.extend(body);
            }
            if !defs.is_empty() {
                out.insert("$defs".into(), Value::Object(defs));
            }
            Value::Object(out)
        }))
    }

    pub fn of(&self, record_type: FieldRecordType) -> &Value {
        let index = FieldRecordType::ALL
            .iter()
            .position(|t| *t == record_type)
            .unwrap_or(0);
        &self.0[index]
    }
}

/// Points every `#/components/schemas/X` reference at `#/$defs/X`, copying X (and what it
/// refers to) into `defs`.
fn inline_refs(value: &mut Value, components: &Value, defs: &mut Map<String, Value>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get_mut("$ref")
                && let Some(name) = target.strip_prefix("#/components/schemas/")
            {
                let name = name.to_owned();
                *target = format!("#/$defs/{name}");
                if !defs.contains_key(&name) {
                    defs.insert(name.clone(), Value::Null);
                    let mut def = components[&name].clone();
                    inline_refs(&mut def, components, defs);
                    defs.insert(name, def);
                }
            }
            for v in map.values_mut() {
                inline_refs(v, components, defs);
            }
        }
        Value::Array(items) => {
            for v in items {
                inline_refs(v, components, defs);
            }
        }
        _ => {}
    }
}
