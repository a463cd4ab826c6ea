//! `onboard tenant pull`: the tenant file from Microsoft Graph: the organisation's name,
//! its verified domains and its subscriptions (`subscribedSkus`: part number, seats =
//! enabled prepaid units, apps = service plans, and their GUIDs, which a push sends).
//! Everything else in the file (`[password]`, `[mail]`, `[graph]`, the defaults and the
//! comments) is kept as it was.

use anyhow::{bail, Context, Result};
use serde_json::Value;
use toml_edit::{value, Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table};

use crate::graph::client::{Client, Request};
use crate::tenant::Tenant;

/// What was pulled, for the message.
pub struct Pulled {
    pub text: String,
    pub domains: usize,
    pub licenses: usize,
}

/// The tenant file `old` (the current text, if any) with what Graph says put in.
pub fn pull(client: &Client, old: Option<&str>, tenant: &Tenant) -> Result<Pulled> {
    let get = |url: &str| -> Result<Value> {
        let r = client.call(&Request {
            method: "GET",
            url: url.to_string(),
            body: None,
        })?;
        if !r.ok() {
            bail!("GET {url}: {}", r.error());
        }
        Ok(r.body)
    };
    let org = get("/organization?$select=displayName,verifiedDomains")?;
    let org = org["value"]
        .get(0)
        .context("GET /organization returned no organisation")?;
    let name = org["displayName"]
        .as_str()
        .unwrap_or(&tenant.name)
        .to_string();
    let mut domains: Vec<(String, bool)> = org["verifiedDomains"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| {
            Some((
                d["name"].as_str()?.to_ascii_lowercase(),
                d["isDefault"].as_bool().unwrap_or(false),
            ))
        })
        .collect();
    domains.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    domains.dedup_by(|a, b| a.0 == b.0);
    if domains.is_empty() {
        bail!("the organisation has no verified domains");
    }
    let skus = get("/subscribedSkus")?;

    let mut doc: DocumentMut = old
        .unwrap_or("")
        .parse()
        .context("the tenant file is not TOML")?;
    doc["name"] = value(name);
    let mut list = Array::new();
    for (d, _) in &domains {
        list.push(d.as_str());
    }
    doc["domains"] = value(list);
    let keeps_default = doc
        .get("default_domain")
        .and_then(Item::as_str)
        .is_some_and(|d| domains.iter().any(|(x, _)| x.eq_ignore_ascii_case(d)));
    if !keeps_default {
        if let Some((d, true)) = domains.first() {
            doc["default_domain"] = value(d.as_str());
        } else {
            doc.remove("default_domain");
        }
    }
    let mut licenses = ArrayOfTables::new();
    for sku in skus["value"].as_array().into_iter().flatten() {
        let (Some(part), Some(id)) = (sku["skuPartNumber"].as_str(), sku["skuId"].as_str()) else {
            continue;
        };
        if sku["appliesTo"].as_str().is_some_and(|a| a != "User") {
            continue;
        }
        let friendly = tenant
            .license_index(part)
            .map(|i| tenant.licenses[i].name.clone())
            .unwrap_or_else(|| part.to_string());
        let mut t = Table::new();
        t["sku"] = value(part);
        t["name"] = value(friendly);
        t["seats"] = value(sku["prepaidUnits"]["enabled"].as_i64().unwrap_or(0));
        let mut apps = Array::new();
        let mut ids = InlineTable::new();
        for plan in sku["servicePlans"].as_array().into_iter().flatten() {
            if let (Some(n), Some(pid)) = (
                plan["servicePlanName"].as_str(),
                plan["servicePlanId"].as_str(),
            ) {
                apps.push(n);
                ids.insert(n, pid.into());
            }
        }
        t["apps"] = value(apps);
        t["sku_id"] = value(id);
        t["app_ids"] = value(ids);
        licenses.push(t);
    }
    let count = licenses.len();
    doc.remove("license");
    doc.insert("license", Item::ArrayOfTables(licenses));
    let text = doc.to_string();
    // What is written must be a tenant file this program reads.
    Tenant::parse(&text).context("the pulled tenant file does not check")?;
    Ok(Pulled {
        text,
        domains: domains.len(),
        licenses: count,
    })
}
