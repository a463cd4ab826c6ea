//! Name patterns of a `--columns` file, such as `{first}.{last}@fabrikam.nl`: parsed,
//! and built from one row's values. A User Name pattern folds the values to a username's
//! characters (`Zoë Ærøskøbing` → `zoe.aeroskobing`); a Display Name pattern keeps them.

use unicode_normalization::UnicodeNormalization;

use crate::row::Field;

/// A value a pattern can put in a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// `{first}`: First Name.
    First,
    /// `{last}`: Last Name.
    Last,
    /// `{initial}`: the first letter of First Name.
    Initial,
    /// `{display}`: Display Name.
    Display,
    /// `{employee_id}`: Employee ID.
    EmployeeId,
}

impl Placeholder {
    pub const ALL: [Placeholder; 5] = [
        Placeholder::First,
        Placeholder::Last,
        Placeholder::Initial,
        Placeholder::Display,
        Placeholder::EmployeeId,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Placeholder::First => "first",
            Placeholder::Last => "last",
            Placeholder::Initial => "initial",
            Placeholder::Display => "display",
            Placeholder::EmployeeId => "employee_id",
        }
    }

    /// The field the value comes from.
    pub fn field(self) -> Field {
        match self {
            Placeholder::First | Placeholder::Initial => Field::FirstName,
            Placeholder::Last => Field::LastName,
            Placeholder::Display => Field::DisplayName,
            Placeholder::EmployeeId => Field::EmployeeId,
        }
    }

    fn parse(name: &str) -> Option<Placeholder> {
        Placeholder::ALL.into_iter().find(|p| p.name() == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Value(Placeholder),
}

/// Which name a pattern builds: a User Name is folded to a username's characters, a
/// Display Name keeps the values as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternKind {
    UserName,
    DisplayName,
}

/// A pattern such as `{first}.{last}@fabrikam.nl`: text with placeholders in braces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    pieces: Vec<Piece>,
    kind: PatternKind,
    /// The pattern as written, for messages.
    pub text: String,
    /// The domain after `@` (User Name patterns), lower-cased.
    pub domain: Option<String>,
}

/// Characters a pattern's own text may have before the `@` of a User Name (the rules'
/// username characters, upper case folded).
const LOCAL_TEXT: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789'.-_!#^~";

impl Pattern {
    /// Parses a pattern; the error is a message without the place (the caller knows it).
    pub fn parse(text: &str, kind: PatternKind) -> Result<Pattern, String> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(open) = rest.find(['{', '}']) {
            if rest[open..].starts_with('}') {
                return Err(format!("`}}` without `{{` in pattern `{text}`"));
            }
            literal.push_str(&rest[..open]);
            let Some(close) = rest[open..].find('}') else {
                return Err(format!("`{{` without `}}` in pattern `{text}`"));
            };
            let name = &rest[open + 1..open + close];
            let Some(p) = Placeholder::parse(name.trim()) else {
                return Err(format!(
                    "unknown placeholder `{{{name}}}` in pattern `{text}`; known: {}",
                    Placeholder::ALL
                        .iter()
                        .map(|p| format!("{{{}}}", p.name()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            };
            if kind == PatternKind::DisplayName && p == Placeholder::Display {
                return Err("a [display_name] pattern cannot use {display}".to_string());
            }
            if !literal.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut literal)));
            }
            pieces.push(Piece::Value(p));
            rest = &rest[open + close + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        if !pieces.iter().any(|p| matches!(p, Piece::Value(_))) {
            return Err(format!(
                "pattern `{text}` has no placeholder such as {{first}} or {{last}}"
            ));
        }
        let mut domain = None;
        if kind == PatternKind::UserName {
            for piece in &mut pieces {
                if let Piece::Text(t) = piece {
                    *t = t.to_lowercase();
                }
            }
            let at = pieces.iter().position(|p| match p {
                Piece::Text(t) => t.contains('@'),
                Piece::Value(_) => false,
            });
            if let Some(at) = at {
                if pieces[at + 1..]
                    .iter()
                    .any(|p| matches!(p, Piece::Value(_)))
                {
                    return Err(format!(
                        "pattern `{text}`: placeholders go before the `@`, the domain is fixed"
                    ));
                }
                let Piece::Text(t) = &pieces[at] else {
                    unreachable!("found as text")
                };
                let (local, dom) = t.split_once('@').expect("has @");
                let dom = dom.to_string();
                if dom.is_empty()
                    || dom.contains('@')
                    || !dom
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
                {
                    return Err(format!(
                        "pattern `{text}`: `{dom}` after the `@` is not a domain name"
                    ));
                }
                let local = local.to_string();
                pieces.truncate(at);
                if !local.is_empty() {
                    pieces.push(Piece::Text(local));
                }
                domain = Some(dom);
            }
            for piece in &pieces {
                if let Piece::Text(t) = piece {
                    if let Some(c) = t
                        .chars()
                        .find(|&c| !c.is_ascii() || !LOCAL_TEXT.contains(&(c as u8)))
                    {
                        return Err(format!(
                            "pattern `{text}`: `{c}` is not allowed in a username"
                        ));
                    }
                }
            }
        }
        Ok(Pattern {
            pieces,
            kind,
            text: text.to_string(),
            domain,
        })
    }

    /// The placeholders the pattern uses, in order, without repeats.
    pub fn placeholders(&self) -> Vec<Placeholder> {
        let mut out = Vec::new();
        for p in &self.pieces {
            if let Piece::Value(v) = p {
                if !out.contains(v) {
                    out.push(*v);
                }
            }
        }
        out
    }

    /// The name this pattern gives for `values` (for a User Name, the part before `@`), or
    /// `None` when the values it uses are all empty.
    pub fn build(&self, values: &Values) -> Option<String> {
        let mut out = String::new();
        let mut any = false;
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Value(p) => {
                    let raw = values.get(*p);
                    match self.kind {
                        PatternKind::UserName => {
                            let folded = fold(raw);
                            let v = match p {
                                Placeholder::Initial => folded
                                    .chars()
                                    .find(char::is_ascii_alphanumeric)
                                    .map(String::from)
                                    .unwrap_or_default(),
                                _ => folded,
                            };
                            any |= !v.is_empty();
                            out.push_str(&v);
                        }
                        PatternKind::DisplayName => {
                            let v = match p {
                                Placeholder::Initial => {
                                    raw.chars().next().map(String::from).unwrap_or_default()
                                }
                                _ => raw.to_string(),
                            };
                            any |= !v.is_empty();
                            out.push_str(&v);
                        }
                    }
                }
            }
        }
        if !any {
            return None;
        }
        let out = match self.kind {
            PatternKind::UserName => tidy_local_part(&out),
            PatternKind::DisplayName => out
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .trim_matches(|c: char| c == ',' || c.is_whitespace())
                .to_string(),
        };
        (!out.is_empty()).then_some(out)
    }
}

/// A name folded to the characters a username can hold: lower-case ASCII letters, digits
/// and `-`. Letters with accents lose them (`ë` → `e`, by Unicode compatibility
/// decomposition), the letters that do not decompose are spelled out (`ß` → `ss`,
/// `æ` → `ae`, `ø` → `o`, `ł` → `l`, `đ` → `d`, `þ` → `th`, `œ` → `oe`, `ĳ` → `ij`), and
/// everything else (spaces, apostrophes, dots, other scripts) is dropped:
/// `van der Meulen` → `vandermeulen`, `O'Neill` → `oneill`.
pub fn fold(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let spelled = match c {
            'ß' | 'ẞ' => "ss",
            'æ' | 'Æ' => "ae",
            'ø' | 'Ø' => "o",
            'ł' | 'Ł' => "l",
            'đ' | 'Đ' | 'ð' | 'Ð' => "d",
            'þ' | 'Þ' => "th",
            'œ' | 'Œ' => "oe",
            'ĳ' | 'Ĳ' => "ij",
            'ı' => "i",
            'ħ' | 'Ħ' => "h",
            'ŧ' | 'Ŧ' => "t",
            'ŋ' | 'Ŋ' => "n",
            _ => {
                for d in std::iter::once(c).nfkd() {
                    if d.is_ascii_alphanumeric() {
                        out.push(d.to_ascii_lowercase());
                    } else if d == '-' && !out.is_empty() && !out.ends_with('-') {
                        out.push('-');
                    }
                }
                continue;
            }
        };
        out.push_str(spelled);
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// The part before `@` with the separators that empty values leave behind taken out: no
/// `..`, nothing but a letter or digit at either end.
fn tidy_local_part(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '.' && (out.is_empty() || out.ends_with('.')) {
            continue;
        }
        out.push(c);
    }
    out.trim_matches(|c: char| matches!(c, '.' | '-' | '_'))
        .to_string()
}

/// One row's values for the placeholders, trimmed.
#[derive(Debug, Default)]
pub struct Values {
    pub first: String,
    pub last: String,
    pub display: String,
    pub employee_id: String,
}

impl Values {
    pub fn get(&self, p: Placeholder) -> &str {
        match p {
            Placeholder::First | Placeholder::Initial => &self.first,
            Placeholder::Last => &self.last,
            Placeholder::Display => &self.display,
            Placeholder::EmployeeId => &self.employee_id,
        }
    }
}

/// The Display Name pattern when the mapping file gives none.
pub const DEFAULT_DISPLAY_NAME: &str = "{first} {last}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_names_to_username_characters() {
        assert_eq!(fold("Zoë"), "zoe");
        assert_eq!(fold("Ærøskøbing"), "aeroskobing");
        assert_eq!(fold("van der Meulen"), "vandermeulen");
        assert_eq!(fold("Weiß"), "weiss");
        assert_eq!(fold("Łukasz Wróbel"), "lukaszwrobel");
        assert_eq!(fold("Đorđe"), "dorde");
        assert_eq!(fold("Þórunn"), "thorunn");
        assert_eq!(fold("Œuvray"), "oeuvray");
        assert_eq!(fold("Åsa"), "asa");
        assert_eq!(fold("O'Neill"), "oneill");
        assert_eq!(fold("Anne-Marie"), "anne-marie");
        assert_eq!(fold(" - Smith -- Jones - "), "smith-jones");
        assert_eq!(fold("ﬁona"), "fiona");
        assert_eq!(fold("Ĳsbrand"), "ijsbrand");
        assert_eq!(fold("Петров"), "");
    }

    fn values(first: &str, last: &str) -> Values {
        Values {
            first: first.into(),
            last: last.into(),
            ..Values::default()
        }
    }

    #[test]
    fn user_name_patterns_fold_and_tidy() {
        let p = Pattern::parse("{first}.{last}@Fabrikam.nl", PatternKind::UserName).unwrap();
        assert_eq!(p.domain.as_deref(), Some("fabrikam.nl"));
        assert_eq!(
            p.build(&values("Zoë", "Ærøskøbing")).unwrap(),
            "zoe.aeroskobing"
        );
        assert_eq!(p.build(&values("", "Jansen")).unwrap(), "jansen");
        assert_eq!(p.build(&values("Jan", "")).unwrap(), "jan");
        assert_eq!(p.build(&values(" ", "")), None);
        let p = Pattern::parse("{initial}{last}", PatternKind::UserName).unwrap();
        assert_eq!(p.domain, None);
        assert_eq!(p.build(&values("Émile", "de Boer")).unwrap(), "edeboer");
    }

    #[test]
    fn display_name_patterns_keep_the_values() {
        let p = Pattern::parse("{last}, {first}", PatternKind::DisplayName).unwrap();
        assert_eq!(
            p.build(&values("Zoë", "van Dijk")).unwrap(),
            "van Dijk, Zoë"
        );
        assert_eq!(p.build(&values("", "van Dijk")).unwrap(), "van Dijk");
        let p = Pattern::parse(DEFAULT_DISPLAY_NAME, PatternKind::DisplayName).unwrap();
        assert_eq!(p.build(&values("Zoë", "")).unwrap(), "Zoë");
    }

    #[test]
    fn bad_patterns_say_why() {
        let e = |t, k| Pattern::parse(t, k).unwrap_err();
        assert!(
            e("{frist}.{last}", PatternKind::UserName).contains("unknown placeholder `{frist}`")
        );
        assert!(e("{first", PatternKind::UserName).contains("without `}`"));
        assert!(e("first}", PatternKind::UserName).contains("without `{`"));
        assert!(e("jan@contoso.com", PatternKind::UserName).contains("no placeholder"));
        assert!(e("{first}@{last}.nl", PatternKind::UserName).contains("before the `@`"));
        assert!(e("{first} {last}@x.nl", PatternKind::UserName).contains("` ` is not allowed"));
        assert!(e("{first}@x y", PatternKind::UserName).contains("not a domain name"));
        assert!(e("{display}", PatternKind::DisplayName).contains("cannot use {display}"));
    }
}
