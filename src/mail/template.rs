//! Mail text with placeholders: `{display_name}`, `{user_name}`, `{password}`,
//! `{organisation}`, `{sign_in_url}`; `{{` and `}}` are braces.

use std::path::Path;

use anyhow::{bail, Context, Result};

/// The credential mail's text when the tenant file names no template.
pub const DEFAULT_TEXT: &str = include_str!("../../samples/mail/credentials.en.txt");

/// What a placeholder stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    DisplayName,
    UserName,
    Password,
    Organisation,
    SignInUrl,
}

const SLOTS: [(&str, Slot); 5] = [
    ("display_name", Slot::DisplayName),
    ("user_name", Slot::UserName),
    ("password", Slot::Password),
    ("organisation", Slot::Organisation),
    ("sign_in_url", Slot::SignInUrl),
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Slot(Slot),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

impl Template {
    /// Parses `text`; an unknown placeholder or a lone brace is an error naming its line.
    pub fn parse(text: &str) -> Result<Template> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        let line_of = |rest: &str| 1 + text[..text.len() - rest.len()].matches('\n').count();
        while let Some(i) = rest.find(['{', '}']) {
            literal.push_str(&rest[..i]);
            let after = &rest[i..];
            if after.starts_with("{{") || after.starts_with("}}") {
                literal.push_str(&after[..1]);
                rest = &after[2..];
                continue;
            }
            if after.starts_with('}') {
                bail!(
                    "line {}: a lone `}}` (write `}}}}` for a brace)",
                    line_of(after)
                );
            }
            let Some(end) = after.find('}') else {
                bail!("line {}: `{{` without its `}}`", line_of(after));
            };
            let name = &after[1..end];
            let Some(&(_, slot)) = SLOTS.iter().find(|(n, _)| *n == name.trim()) else {
                bail!(
                    "line {}: unknown placeholder `{{{}}}` (known: {})",
                    line_of(after),
                    crate::row::printable(name),
                    SLOTS
                        .iter()
                        .map(|(n, _)| format!("{{{n}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            };
            if !literal.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut literal)));
            }
            pieces.push(Piece::Slot(slot));
            rest = &after[end + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Template { pieces })
    }

    /// Reads a template file (UTF-8, at most 64 KiB); errors name the file and line.
    pub fn load(path: &Path) -> Result<Template> {
        let shown = path.display();
        let bytes = crate::read::read_small_file(path, "mail template")?;
        if bytes.len() > 64 * 1024 {
            bail!("mail template {shown} is over 64 KiB");
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("mail template {shown} is not UTF-8 text"))?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let template = Template::parse(text).with_context(|| format!("mail template {shown}"))?;
        if !template.uses_password() {
            bail!("mail template {shown} never shows {{password}}: the mail would not give the new user a way in");
        }
        Ok(template)
    }

    /// Whether `{password}` appears.
    pub fn uses_password(&self) -> bool {
        self.pieces.contains(&Piece::Slot(Slot::Password))
    }

    /// The text with each placeholder replaced by `value(slot)`.
    pub fn render(&self, value: impl Fn(Slot) -> String) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Slot(s) => out.push_str(&value(*s)),
            }
        }
        out
    }
}

impl Default for Template {
    fn default() -> Template {
        Template::parse(DEFAULT_TEXT).expect("the built-in template parses")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(t: &Template) -> String {
        t.render(|s| format!("<{s:?}>"))
    }

    #[test]
    fn placeholders_and_braces() {
        let t = Template::parse("Hi {display_name} {{x}} {password}\n").unwrap();
        assert_eq!(fill(&t), "Hi <DisplayName> {x} <Password>\n");
        assert!(t.uses_password());
    }

    #[test]
    fn mistakes_name_their_line() {
        let e = |t: &str| format!("{:#}", Template::parse(t).unwrap_err());
        assert!(e("a\n{passwrd}").starts_with("line 2: unknown placeholder `{passwrd}`"));
        assert!(e("a\nb\n{user_name").starts_with("line 3: `{` without"));
        assert!(e("x }").starts_with("line 1: a lone"));
    }

    #[test]
    fn the_default_and_the_dutch_templates_parse() {
        assert!(Template::default().uses_password());
        let nl = include_str!("../../samples/mail/credentials.nl.txt");
        assert!(Template::parse(nl).unwrap().uses_password());
    }
}
