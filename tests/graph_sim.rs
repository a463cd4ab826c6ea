//! A Microsoft Graph simulator for the push tests and the benchmark: an HTTP server on
//! 127.0.0.1 (tiny_http) that answers as Microsoft documents it: the client-credentials
//! token (401 `invalid_client` for a wrong secret), `$batch` (at most 20 requests, 400
//! beyond; `dependsOn` and 424; fully parallel or fully sequential), `POST /users` (400
//! `ObjectConflict` for a taken userPrincipalName), `assignLicense` (both lists required;
//! 400 without a usage location or with no seats left), role assignments, deletes,
//! restores, the organisation and its subscriptions; and throttling on request: 429 with
//! `Retry-After` on batch items or whole requests, and 503 storms without it.
//!
//! No tenant can be reached from the tests, so this is what the client is tested
//! against; the shapes follow learn.microsoft.com/graph (json-batching, user-post-users,
//! user-assignlicense, throttling, errors).

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

pub const TENANT_ID: &str = "8a1c6b3e-2f4d-4e5a-9b7c-0d1e2f3a4b5c";
pub const CLIENT_ID: &str = "5f0e9d8c-7b6a-4c5d-8e9f-a0b1c2d3e4f5";
pub const SECRET: &str = "sim-Secret~0123456789abcdef";

/// A subscription: part number, skuId, enabled seats, service plans (name, id).
pub type Sku = (
    &'static str,
    &'static str,
    u64,
    [(&'static str, &'static str); 2],
);

/// The subscriptions.
pub const SKUS: [Sku; 2] = [
    (
        "SPE_E3",
        "05e9a617-0261-4cee-bb44-138d3ef5d965",
        25,
        [
            ("TEAMS1", "57ff2da0-773e-42df-b2af-ffb7a2317929"),
            (
                "EXCHANGE_S_ENTERPRISE",
                "efb87545-963c-4e0d-99df-69c6916d9eb0",
            ),
        ],
    ),
    (
        "EMS",
        "efccb6f7-5641-4e0e-bd10-b4976e1bf68e",
        10,
        [
            ("INTUNE_A", "c1ec4a95-1f05-45b3-a911-aa3fa01094f5"),
            ("AAD_PREMIUM", "41781fb2-bc02-4b7c-bd55-b576c07bb09d"),
        ],
    ),
];

/// Built-in roles: template id and display name.
pub const ROLES: [(&str, &str); 4] = [
    (
        "62e90394-69f5-4237-9190-012177145e10",
        "Global Administrator",
    ),
    ("fe930be7-5e62-47db-91af-98c3a49a38b1", "User Administrator"),
    (
        "729827e3-9c14-49f7-bb1b-9608f156bbb8",
        "Helpdesk Administrator",
    ),
    (
        "4d6ac14f-3453-41d0-bef9-a3e0c569773a",
        "License Administrator",
    ),
];

/// How the simulator misbehaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Every Nth batch item gets 429 with `Retry-After` (0: none).
    pub throttle_every: u64,
    /// `Retry-After` of a throttled item or request, seconds.
    pub retry_after: &'static str,
    /// The next N HTTP requests to Graph get 429 as a whole.
    pub burst_429: u64,
    /// The next N HTTP requests to Graph get 503 without `Retry-After`.
    pub storm_503: u64,
    /// Seconds a token lives.
    pub token_lifetime: u64,
    /// Seats per SKU instead of [`SKUS`]'s.
    pub seats: Option<u64>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            throttle_every: 0,
            retry_after: "0.05",
            burst_429: 0,
            storm_503: 0,
            token_lifetime: 3599,
            seats: None,
        }
    }
}

/// One HTTP request as it arrived.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    pub path: String,
    /// For a `$batch`: its items' methods and urls.
    pub items: Vec<(String, String)>,
    pub status: u16,
}

#[derive(Default)]
struct State {
    options: Options,
    users: BTreeMap<String, Value>,
    by_upn: HashMap<String, String>,
    deleted: BTreeMap<String, Value>,
    consumed: HashMap<String, u64>,
    tokens: HashMap<String, Instant>,
    tokens_issued: u64,
    creates: HashMap<String, u64>,
    assignments: Vec<(String, String)>,
    log: Vec<Logged>,
    items_seen: u64,
    throttled_items: u64,
}

/// A running simulator; stopped when dropped.
pub struct GraphSim {
    pub url: String,
    state: Arc<Mutex<State>>,
    server: Arc<tiny_http::Server>,
    threads: Vec<JoinHandle<()>>,
}

impl GraphSim {
    pub fn start(options: Options) -> GraphSim {
        // TCP_NODELAY on the listener, which the connections inherit: tiny_http writes a
        // response in pieces, and with Nagle's algorithm each later piece would wait for
        // the client's delayed ACK (40 ms a response).
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("a socket");
        socket.set_tcp_nodelay(true).expect("TCP_NODELAY");
        socket
            .bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())
            .expect("a port");
        socket.listen(128).expect("listen");
        let listener: std::net::TcpListener = socket.into();
        let server = Arc::new(tiny_http::Server::from_listener(listener, None).expect("a server"));
        let port = server.server_addr().to_ip().expect("an IP address").port();
        let state = Arc::new(Mutex::new(State {
            options,
            ..State::default()
        }));
        let threads = (0..8)
            .map(|_| {
                let (server, state) = (server.clone(), state.clone());
                std::thread::spawn(move || {
                    while let Ok(request) = server.recv() {
                        serve(&state, request);
                    }
                })
            })
            .collect();
        GraphSim {
            url: format!("http://127.0.0.1:{port}"),
            state,
            server,
            threads,
        }
    }

    /// The `[graph]` table that points at this simulator.
    pub fn graph_table(&self, secret_env: &str) -> String {
        format!(
            "[graph]\ntenant_id = \"{TENANT_ID}\"\nclient_id = \"{CLIENT_ID}\"\nsecret_env = \"{secret_env}\"\nlogin_url = \"{0}\"\ngraph_url = \"{0}\"\n",
            self.url
        )
    }

    pub fn users(&self) -> Vec<Value> {
        self.state.lock().unwrap().users.values().cloned().collect()
    }

    pub fn user(&self, upn: &str) -> Option<Value> {
        let s = self.state.lock().unwrap();
        s.by_upn
            .get(&upn.to_lowercase())
            .and_then(|id| s.users.get(id))
            .cloned()
    }

    pub fn deleted(&self) -> Vec<Value> {
        self.state
            .lock()
            .unwrap()
            .deleted
            .values()
            .cloned()
            .collect()
    }

    /// Successful creates of each User Name.
    pub fn creates(&self) -> HashMap<String, u64> {
        self.state.lock().unwrap().creates.clone()
    }

    pub fn assignments(&self) -> Vec<(String, String)> {
        self.state.lock().unwrap().assignments.clone()
    }

    pub fn log(&self) -> Vec<Logged> {
        self.state.lock().unwrap().log.clone()
    }

    /// Batch items answered with 429.
    pub fn throttled_items(&self) -> u64 {
        self.state.lock().unwrap().throttled_items
    }

    pub fn tokens_issued(&self) -> u64 {
        self.state.lock().unwrap().tokens_issued
    }

    /// Adds a user as if someone had made it in the admin center.
    pub fn add_user(&self, upn: &str, employee_id: Option<&str>) -> String {
        let mut s = self.state.lock().unwrap();
        let id = uuid::Uuid::new_v4().to_string();
        let mut user =
            json!({"id": id, "userPrincipalName": upn, "displayName": upn, "accountEnabled": true});
        if let Some(e) = employee_id {
            user["employeeId"] = json!(e);
        }
        s.by_upn.insert(upn.to_lowercase(), id.clone());
        s.users.insert(id.clone(), user);
        id
    }

    pub fn set_options(&self, options: Options) {
        self.state.lock().unwrap().options = options;
    }
}

impl Drop for GraphSim {
    fn drop(&mut self) {
        for _ in &self.threads {
            self.server.unblock();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn error(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message, "innerError": {
        "date": "2026-12-02T10:00:00", "request-id": uuid::Uuid::new_v4().to_string(),
        "client-request-id": uuid::Uuid::new_v4().to_string()}}})
}

fn serve(state: &Mutex<State>, mut request: tiny_http::Request) {
    let method = request.method().as_str().to_string();
    let url = request.url().to_string();
    let mut body = String::new();
    let _ = request.as_reader().read_to_string(&mut body);
    let auth = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .map(|h| h.value.as_str().to_string());
    let (status, headers, reply, items) = {
        let mut s = state.lock().unwrap();
        let (status, headers, reply, items) = handle(&mut s, &method, &url, &body, auth.as_deref());
        s.log.push(Logged {
            method: method.clone(),
            path: url.clone(),
            items: items.clone(),
            status,
        });
        (status, headers, reply, items)
    };
    let _ = items;
    let text = if reply.is_null() {
        String::new()
    } else {
        reply.to_string()
    };
    let mut response = tiny_http::Response::from_string(text).with_status_code(status);
    response.add_header(tiny_http::Header::from_bytes("Content-Type", "application/json").unwrap());
    for (k, v) in headers {
        response.add_header(tiny_http::Header::from_bytes(k, v).unwrap());
    }
    let _ = request.respond(response);
}

type Handled = (u16, Vec<(String, String)>, Value, Vec<(String, String)>);

fn handle(s: &mut State, method: &str, url: &str, body: &str, auth: Option<&str>) -> Handled {
    if method == "POST" && url == format!("/{TENANT_ID}/oauth2/v2.0/token") {
        return token(s, body);
    }
    let Some(path) = url.strip_prefix("/v1.0") else {
        return (
            404,
            vec![],
            error("Request_ResourceNotFound", "no such path"),
            vec![],
        );
    };
    let valid = auth
        .and_then(|a| a.strip_prefix("Bearer "))
        .and_then(|t| s.tokens.get(t))
        .is_some_and(|&expires| Instant::now() < expires);
    if !valid {
        return (
            401,
            vec![],
            error(
                "InvalidAuthenticationToken",
                "Access token has expired or is not yet valid.",
            ),
            vec![],
        );
    }
    if s.options.storm_503 > 0 {
        s.options.storm_503 -= 1;
        return (
            503,
            vec![],
            error("serviceNotAvailable", "Service unavailable"),
            vec![],
        );
    }
    if s.options.burst_429 > 0 {
        s.options.burst_429 -= 1;
        let retry = s.options.retry_after.to_string();
        return (
            429,
            vec![("Retry-After".into(), retry)],
            error("TooManyRequests", "Please retry again later."),
            vec![],
        );
    }
    let body: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    if method == "POST" && path == "/$batch" {
        return batch(s, &body);
    }
    let (status, reply) = dispatch(s, method, path, &body);
    (status, vec![], reply, vec![])
}

fn token(s: &mut State, body: &str) -> Handled {
    let form: HashMap<String, String> = body
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect();
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if get("grant_type") != "client_credentials" || !get("scope").ends_with("/.default") {
        return (
            400,
            vec![],
            json!({"error": "invalid_request", "error_description": "AADSTS900144: The request body must contain the following parameter: 'grant_type'."}),
            vec![],
        );
    }
    if get("client_id") != CLIENT_ID || get("client_secret") != SECRET {
        return (
            401,
            vec![],
            json!({
                "error": "invalid_client",
                "error_description": format!("AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{CLIENT_ID}'.\r\nTrace ID: 6bad8289-db4a-49da-8609-0848d8d71700\r\nCorrelation ID: 63b8bb61-5ca6-4ae3-8224-15a4de11cd87\r\nTimestamp: 2026-12-02 10:00:00Z"),
                "error_codes": [7000215],
                "error_uri": "https://login.microsoftonline.com/error?code=7000215"
            }),
            vec![],
        );
    }
    let value = format!("sim-token-{}", uuid::Uuid::new_v4());
    let lifetime = s.options.token_lifetime;
    s.tokens.insert(
        value.clone(),
        Instant::now() + Duration::from_secs(lifetime),
    );
    s.tokens_issued += 1;
    (
        200,
        vec![],
        json!({"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": value}),
        vec![],
    )
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap_or(b'?'));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn batch(s: &mut State, body: &Value) -> Handled {
    let Some(requests) = body["requests"].as_array() else {
        return (
            400,
            vec![],
            error("BadRequest", "Invalid batch payload format."),
            vec![],
        );
    };
    let items: Vec<(String, String)> = requests
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap_or("").to_string(),
                r["url"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    if requests.len() > 20 {
        return (
            400,
            vec![],
            error(
                "BadRequest",
                "Too many requests in a batch: at most 20 are allowed.",
            ),
            items,
        );
    }
    let depending = requests
        .iter()
        .filter(|r| r.get("dependsOn").is_some())
        .count();
    if depending > 0 && depending + 1 != requests.len() {
        return (
            400,
            vec![],
            error(
                "BadRequest",
                "Batch should be either fully sequential or fully parallel.",
            ),
            items,
        );
    }
    let mut ids = std::collections::HashSet::new();
    let mut failed = std::collections::HashSet::new();
    let mut responses = Vec::new();
    for r in requests {
        let id = r["id"].as_str().unwrap_or("").to_string();
        if !ids.insert(id.to_lowercase()) {
            return (
                400,
                vec![],
                error("BadRequest", "Batch request ids must be unique."),
                items,
            );
        }
        let depends: Vec<String> = r["dependsOn"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d.as_str().map(str::to_string))
            .collect();
        if depends.iter().any(|d| failed.contains(d)) {
            failed.insert(id.clone());
            responses.push(json!({"id": id, "status": 424, "headers": {"Content-Type": "application/json"},
                "body": error("FailedDependency", "The request was not run: a request it depends on failed.")}));
            continue;
        }
        s.items_seen += 1;
        if s.options.throttle_every > 0 && s.items_seen % s.options.throttle_every == 0 {
            s.throttled_items += 1;
            failed.insert(id.clone());
            responses.push(json!({"id": id, "status": 429,
                "headers": {"Retry-After": s.options.retry_after, "Content-Type": "application/json"},
                "body": error("TooManyRequests", "Please retry again later.")}));
            continue;
        }
        let method = r["method"].as_str().unwrap_or("");
        let url = r["url"].as_str().unwrap_or("");
        let url = if url.starts_with('/') {
            url.to_string()
        } else {
            format!("/{url}")
        };
        let (status, reply) = dispatch(s, method, &url, &r["body"]);
        if status >= 400 {
            failed.insert(id.clone());
        }
        let mut item =
            json!({"id": id, "status": status, "headers": {"Content-Type": "application/json"}});
        if !reply.is_null() {
            item["body"] = reply;
        }
        responses.push(item);
    }
    // Graph answers in any order.
    responses.reverse();
    (200, vec![], json!({ "responses": responses }), items)
}

fn not_found(key: &str) -> (u16, Value) {
    (
        404,
        error(
            "Request_ResourceNotFound",
            &format!("Resource '{key}' does not exist or one of its queried reference-property objects are not present."),
        ),
    )
}

fn dispatch(s: &mut State, method: &str, url: &str, body: &Value) -> (u16, Value) {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, parts.as_slice()) {
        ("GET", ["organization"]) => (
            200,
            json!({"value": [{
            "id": TENANT_ID, "displayName": "Contoso Simulated",
            "verifiedDomains": [
                {"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": true, "isInitial": false, "name": "contoso.com", "type": "Managed"},
                {"capabilities": "Email", "isDefault": false, "isInitial": true, "name": "contososim.onmicrosoft.com", "type": "Managed"},
                {"capabilities": "Email", "isDefault": false, "isInitial": false, "name": "Fabrikam.nl", "type": "Managed"}
            ]}]}),
        ),
        ("GET", ["subscribedSkus"]) => {
            let seats = s.options.seats;
            let value: Vec<Value> = SKUS.iter().map(|(part, id, enabled, plans)| json!({
                "capabilityStatus": "Enabled", "appliesTo": "User",
                "consumedUnits": s.consumed.get(*id).copied().unwrap_or(0),
                "id": format!("{TENANT_ID}_{id}"), "skuId": id, "skuPartNumber": part,
                "prepaidUnits": {"enabled": seats.unwrap_or(*enabled), "suspended": 0, "warning": 0, "lockedOut": 0},
                "servicePlans": plans.iter().map(|(n, pid)| json!({"servicePlanId": pid, "servicePlanName": n, "provisioningStatus": "Success", "appliesTo": "User"})).collect::<Vec<_>>()
            })).collect();
            (200, json!({ "value": value }))
        }
        ("GET", ["roleManagement", "directory", "roleDefinitions"]) => (
            200,
            json!({"value":
            ROLES.iter().map(|(id, name)| json!({"id": id, "templateId": id, "displayName": name, "isBuiltIn": true})).collect::<Vec<_>>()}),
        ),
        ("POST", ["users"]) => create_user(s, body),
        ("GET", ["users", key]) => match find(s, key) {
            Some(id) => {
                let user = &s.users[&id];
                let select: Vec<&str> = query
                    .strip_prefix("$select=")
                    .map(|q| q.split(',').collect())
                    .unwrap_or_default();
                if select.is_empty() {
                    (200, user.clone())
                } else {
                    let mut out = Map::new();
                    for k in select {
                        out.insert(k.to_string(), user.get(k).cloned().unwrap_or(Value::Null));
                    }
                    (200, Value::Object(out))
                }
            }
            None => not_found(key),
        },
        ("PATCH", ["users", key]) => {
            let Some(id) = find(s, key) else {
                return not_found(key);
            };
            if let Some(upn) = body["userPrincipalName"].as_str() {
                if s.by_upn
                    .get(&upn.to_lowercase())
                    .is_some_and(|other| *other != id)
                {
                    return conflict();
                }
                let old = s.users[&id]["userPrincipalName"]
                    .as_str()
                    .unwrap_or("")
                    .to_lowercase();
                s.by_upn.remove(&old);
                s.by_upn.insert(upn.to_lowercase(), id.clone());
            }
            let user = s.users.get_mut(&id).unwrap();
            for (k, v) in body.as_object().into_iter().flatten() {
                if k == "passwordProfile" {
                    continue;
                }
                if v.is_null() {
                    user.as_object_mut().unwrap().remove(k);
                } else {
                    user[k] = v.clone();
                }
            }
            (204, Value::Null)
        }
        ("DELETE", ["users", key]) => {
            let Some(id) = find(s, key) else {
                return not_found(key);
            };
            let user = s.users.remove(&id).unwrap();
            s.by_upn.remove(
                &user["userPrincipalName"]
                    .as_str()
                    .unwrap_or("")
                    .to_lowercase(),
            );
            release(s, &user);
            s.deleted.insert(id, user);
            (204, Value::Null)
        }
        ("POST", ["directory", "deletedItems", id, "restore"]) => {
            let Some(mut user) = s.deleted.remove(*id) else {
                return not_found(id);
            };
            let upn = user["userPrincipalName"]
                .as_str()
                .unwrap_or("")
                .to_lowercase();
            if s.by_upn.contains_key(&upn) {
                s.deleted.insert(id.to_string(), user);
                return conflict();
            }
            user["assignedLicenses"] = json!([]);
            s.by_upn.insert(upn, id.to_string());
            s.users.insert(id.to_string(), user.clone());
            let mut reply = user;
            reply["@odata.type"] = json!("#microsoft.graph.user");
            (200, reply)
        }
        ("DELETE", ["directory", "deletedItems", id]) => match s.deleted.remove(*id) {
            Some(_) => (204, Value::Null),
            None => not_found(id),
        },
        ("POST", ["users", key, "assignLicense"]) => assign_license(s, key, body),
        ("POST", ["roleManagement", "directory", "roleAssignments"]) => {
            let role = body["roleDefinitionId"].as_str().unwrap_or("");
            let principal = body["principalId"].as_str().unwrap_or("");
            if !ROLES.iter().any(|(id, _)| *id == role) {
                return (
                    400,
                    error("Request_BadRequest", "The role definition does not exist."),
                );
            }
            if !s.users.contains_key(principal) {
                return not_found(principal);
            }
            s.assignments
                .push((principal.to_string(), role.to_string()));
            (
                201,
                json!({"id": uuid::Uuid::new_v4().to_string(), "roleDefinitionId": role,
                "principalId": principal, "directoryScopeId": "/"}),
            )
        }
        _ => (
            405,
            error(
                "Request_BadRequest",
                "Specified HTTP method is not allowed for the request target.",
            ),
        ),
    }
}

fn find(s: &State, key: &str) -> Option<String> {
    let key = key.replace("%23", "#").replace("%40", "@");
    if s.users.contains_key(&key) {
        return Some(key);
    }
    s.by_upn.get(&key.to_lowercase()).cloned()
}

fn conflict() -> (u16, Value) {
    let mut e = error(
        "Request_BadRequest",
        "Another object with the same value for property userPrincipalName already exists.",
    );
    e["error"]["details"] = json!([{"code": "ObjectConflict", "target": "userPrincipalName"}]);
    (400, e)
}

fn create_user(s: &mut State, body: &Value) -> (u16, Value) {
    for required in ["displayName", "mailNickname", "userPrincipalName"] {
        if body[required].as_str().is_none_or(str::is_empty) {
            return (
                400,
                error(
                    "Request_BadRequest",
                    &format!(
                        "Invalid value specified for property '{required}' of resource 'User'."
                    ),
                ),
            );
        }
    }
    if !body["accountEnabled"].is_boolean()
        || body["passwordProfile"]["password"].as_str().is_none()
    {
        return (
            400,
            error(
                "Request_BadRequest",
                "Invalid value specified for property 'passwordProfile' of resource 'User'.",
            ),
        );
    }
    let upn = body["userPrincipalName"].as_str().unwrap().to_lowercase();
    if s.by_upn.contains_key(&upn) {
        return conflict();
    }
    let id = uuid::Uuid::new_v4().to_string();
    let mut user = body.clone();
    user.as_object_mut().unwrap().remove("passwordProfile");
    user["id"] = json!(id);
    user["assignedLicenses"] = json!([]);
    s.by_upn.insert(upn.clone(), id.clone());
    s.users.insert(id.clone(), user.clone());
    *s.creates.entry(upn).or_insert(0) += 1;
    let mut reply = user;
    reply["@odata.context"] = json!("https://graph.microsoft.com/v1.0/$metadata#users/$entity");
    (201, reply)
}

fn release(s: &mut State, user: &Value) {
    for l in user["assignedLicenses"].as_array().into_iter().flatten() {
        if let Some(id) = l["skuId"].as_str() {
            if let Some(n) = s.consumed.get_mut(id) {
                *n = n.saturating_sub(1);
            }
        }
    }
}

fn assign_license(s: &mut State, key: &str, body: &Value) -> (u16, Value) {
    for list in ["addLicenses", "removeLicenses"] {
        if !body[list].is_array() {
            return (400, error("Request_BadRequest", &format!("One or more parameters of the operation 'assignLicense' are missing from the request payload. The missing parameters are: {list}.")));
        }
    }
    let Some(id) = find(s, key) else {
        return not_found(key);
    };
    let adds = body["addLicenses"].as_array().unwrap().clone();
    let removes = body["removeLicenses"].as_array().unwrap().clone();
    let user = s.users[&id].clone();
    if !adds.is_empty() && user["usageLocation"].as_str().is_none_or(str::is_empty) {
        return (
            400,
            error(
                "Request_BadRequest",
                "License assignment cannot be done for user with invalid usage location.",
            ),
        );
    }
    let mut held: Vec<Value> = user["assignedLicenses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for add in &adds {
        let sku = add["skuId"].as_str().unwrap_or("");
        let Some((_, _, enabled, plans)) = SKUS.iter().find(|(_, id, _, _)| *id == sku) else {
            return (
                400,
                error(
                    "Request_BadRequest",
                    &format!("License {sku} does not correspond to a valid company License."),
                ),
            );
        };
        for p in add["disabledPlans"].as_array().into_iter().flatten() {
            if !plans.iter().any(|(_, pid)| Some(*pid) == p.as_str()) {
                return (
                    400,
                    error(
                        "Request_BadRequest",
                        "The service plan in disabledPlans is not part of the license.",
                    ),
                );
            }
        }
        let has = held.iter().any(|h| h["skuId"] == sku);
        let seats = s.options.seats.unwrap_or(*enabled);
        if !has && s.consumed.get(sku).copied().unwrap_or(0) >= seats {
            return (
                400,
                error(
                    "Request_BadRequest",
                    &format!("Subscription with SKU {sku} does not have any available licenses."),
                ),
            );
        }
        held.retain(|h| h["skuId"] != sku);
        held.push(json!({"skuId": sku, "disabledPlans": add["disabledPlans"].clone()}));
        if !has {
            *s.consumed.entry(sku.to_string()).or_insert(0) += 1;
        }
    }
    for r in &removes {
        let before = held.len();
        held.retain(|h| h["skuId"] != *r);
        if held.len() < before {
            if let Some(n) = s.consumed.get_mut(r.as_str().unwrap_or("")) {
                *n = n.saturating_sub(1);
            }
        }
    }
    let user = s.users.get_mut(&id).unwrap();
    user["assignedLicenses"] = json!(held);
    (200, user.clone())
}
