//! What Graph is sent for a user: the properties of a create and of an update, and the
//! small requests a push makes by User Name or id.

use serde_json::{json, Map, Value};

use crate::graph::client::Request;
use crate::password::Password;
use crate::row::{profile_index, Field};
use crate::store::StoredUser;
use crate::tenant::Tenant;

/// The profile fields and the Graph properties they go to; a collection property takes
/// the value as its one element.
pub const PROPERTIES: [(Field, &str, bool); 15] = [
    (Field::FirstName, "givenName", false),
    (Field::LastName, "surname", false),
    (Field::JobTitle, "jobTitle", false),
    (Field::Department, "department", false),
    (Field::OfficeNumber, "officeLocation", false),
    (Field::OfficePhone, "businessPhones", true),
    (Field::MobilePhone, "mobilePhone", false),
    (Field::Fax, "faxNumber", false),
    (Field::AlternateEmail, "otherMails", true),
    (Field::Address, "streetAddress", false),
    (Field::City, "city", false),
    (Field::State, "state", false),
    (Field::PostalCode, "postalCode", false),
    (Field::Country, "country", false),
    (Field::EmployeeId, "employeeId", false),
];

/// A profile field of `user` ("" when empty).
pub fn profile(user: &StoredUser, field: Field) -> &str {
    profile_index(field).map_or("", |i| user.profile[i].as_str())
}

/// `POST /users`: the profile, the sign-in and the password.
pub fn create_body(
    user: &StoredUser,
    tenant: &Tenant,
    force_change: bool,
    password: &Password,
) -> Value {
    let mut body = profile_body(user, tenant);
    body["accountEnabled"] = json!(!user.block_sign_in);
    body["userPrincipalName"] = json!(user.user_name);
    body["mailNickname"] = json!(mail_nickname(&user.user_name));
    body["passwordProfile"] = json!({
        "forceChangePasswordNextSignIn": force_change,
        "password": password.expose(),
    });
    body
}

/// `PATCH /users/{id}`: the profile, with what the row left empty cleared, the sign-in
/// and the User Name (a rename).
pub fn patch_body(user: &StoredUser, tenant: &Tenant) -> Value {
    let mut body = profile_body(user, tenant);
    for (field, property, collection) in PROPERTIES {
        if profile(user, field).is_empty() {
            body[property] = if collection { json!([]) } else { Value::Null };
        }
    }
    body["accountEnabled"] = json!(!user.block_sign_in);
    body["userPrincipalName"] = json!(user.user_name);
    body
}

/// The display name, usage location and every profile field with a value.
fn profile_body(user: &StoredUser, tenant: &Tenant) -> Value {
    let mut body = Map::new();
    body.insert(
        "displayName".into(),
        json!(profile(user, Field::DisplayName)),
    );
    for (field, property, collection) in PROPERTIES {
        let v = profile(user, field);
        if !v.is_empty() {
            body.insert(
                property.into(),
                if collection { json!([v]) } else { json!(v) },
            );
        }
    }
    if let Some(u) = user
        .usage_location
        .clone()
        .or_else(|| tenant.default_usage_location.clone())
    {
        body.insert("usageLocation".into(), json!(u));
    }
    Value::Object(body)
}

pub fn lookup(user_name: &str) -> Request {
    Request {
        method: "GET",
        url: format!(
            "/users/{}?$select=id,userPrincipalName,employeeId",
            encode_path(user_name)
        ),
        body: None,
    }
}

pub fn del(url: String) -> Request {
    Request {
        method: "DELETE",
        url,
        body: None,
    }
}

/// A User Name in a URL path: `#`, `%`, `/` and `?` escaped.
fn encode_path(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'@'
            | b'.'
            | b'-'
            | b'_'
            | b'\''
            | b'!'
            | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Graph's answer to a create whose User Name is taken (`ObjectConflict`).
pub fn is_conflict(body: &Value) -> bool {
    let e = &body["error"];
    e["details"]
        .as_array()
        .is_some_and(|d| d.iter().any(|x| x["code"] == "ObjectConflict"))
        || e["message"]
            .as_str()
            .is_some_and(|m| m.contains("already exists"))
}

/// The local part of the User Name, in the characters a mail nickname may have.
fn mail_nickname(user_name: &str) -> String {
    let local = user_name.split('@').next().unwrap_or_default();
    let nick: String = local
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    if nick.is_empty() {
        "user".to_string()
    } else {
        nick
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_property_is_one_the_field_is_known_by() {
        for (field, property, _) in PROPERTIES {
            let info = crate::row::FIELDS
                .iter()
                .find(|f| f.field == field)
                .unwrap();
            assert!(
                info.entra_properties.contains(&property),
                "{field:?}: {property} is not among {:?}",
                info.entra_properties
            );
        }
    }

    #[test]
    fn nicknames_and_paths() {
        assert_eq!(mail_nickname("jan.de-vries@contoso.com"), "jan.de-vries");
        assert_eq!(mail_nickname("zoë@contoso.com"), "zo");
        assert_eq!(encode_path("a#b@c.com"), "a%23b@c.com");
    }
}
