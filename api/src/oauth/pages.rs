//! The server-rendered pages of the authorization endpoint: sign-in, second factor, consent,
//! and errors that must not go back to an untrusted redirect URI. Every value is escaped.

use domain::access::ScopeSet;

fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn layout(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title} · Clientline</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #f4f5f7; margin: 0; }}
main {{ max-width: 26rem; margin: 4rem auto; background: #fff; padding: 2rem; border-radius: 8px; box-shadow: 0 1px 4px #0002; }}
h1 {{ font-size: 1.3rem; margin-top: 0; }}
label {{ display: block; margin: 1rem 0 .3rem; }}
input[type=email], input[type=password], input[type=text] {{ width: 100%; padding: .5rem; box-sizing: border-box; }}
button {{ margin-top: 1.2rem; padding: .5rem 1.2rem; }}
.error {{ color: #a00; background: #fee; padding: .6rem; border-radius: 4px; }}
ul {{ padding-left: 1.2rem; }}
</style>
</head>
<body><main>
<h1>{title}</h1>
{body}
</main></body>
</html>
"#,
        title = escape(title)
    )
}

fn error_block(error: Option<&str>) -> String {
    error
        .map(|e| format!(r#"<p class="error" role="alert">{}</p>"#, escape(e)))
        .unwrap_or_default()
}

fn hidden(csrf_token: &str, step: &str) -> String {
    format!(
        r#"<input type="hidden" name="csrf_token" value="{}">
<input type="hidden" name="step" value="{}">"#,
        escape(csrf_token),
        escape(step)
    )
}

/// The email and password form.
pub fn sign_in(app: &str, csrf_token: &str, email: &str, error: Option<&str>) -> String {
    layout(
        "Sign in",
        &format!(
            r#"<p><strong>{app}</strong> wants to use your Clientline account.</p>
{error}
<form method="post" action="/oauth/authorize">
{hidden}
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required value="{email}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>"#,
            app = escape(app),
            error = error_block(error),
            hidden = hidden(csrf_token, "sign_in"),
            email = escape(email),
        ),
    )
}

/// The authenticator code form.
pub fn totp(app: &str, csrf_token: &str, error: Option<&str>) -> String {
    layout(
        "Enter your code",
        &format!(
            r#"<p>Enter the 6-digit code from your authenticator app to continue to <strong>{app}</strong>.</p>
{error}
<form method="post" action="/oauth/authorize">
{hidden}
<label for="code">Code</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{{6}}" required>
<button type="submit">Continue</button>
</form>"#,
            app = escape(app),
            error = error_block(error),
            hidden = hidden(csrf_token, "totp"),
        ),
    )
}

/// The consent form: what the app may do, in words.
pub fn consent(app: &str, user: &str, scopes: &ScopeSet, csrf_token: &str) -> String {
    let items: String = scopes
        .iter()
        .map(|s| {
            format!(
                "<li>{} <code>{}</code></li>\n",
                escape(&s.describe()),
                escape(&s.to_string())
            )
        })
        .collect();
    layout(
        "Allow access?",
        &format!(
            r#"<p>Signed in as <strong>{user}</strong>.</p>
<p><strong>{app}</strong> asks to:</p>
<ul>
{items}</ul>
<p>It can do no more than your role allows.</p>
<form method="post" action="/oauth/authorize">
{hidden}
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>"#,
            user = escape(user),
            app = escape(app),
            hidden = hidden(csrf_token, "consent"),
        ),
    )
}

/// A page for errors shown to the user instead of the app.
pub fn error(title: &str, message: &str) -> String {
    layout(
        title,
        &format!("<p class=\"error\" role=\"alert\">{}</p>", escape(message)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        let page = sign_in("<script>A & B", "t\"x", "e@x", Some("'bad'"));
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;script&gt;") && page.contains("A &amp; B"));
        assert!(page.contains("t&quot;x") && page.contains("&#39;bad&#39;"));
    }
}
