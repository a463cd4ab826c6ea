//! Microsoft Entra ID / Microsoft 365 built-in admin role names, used to check the `Roles` column.
//!
//! The list follows the "All roles" table of Microsoft's *Microsoft Entra built-in
//! roles* reference (display names as shown in the Entra and Microsoft 365 admin
//! centres). A few former names that admins still type (for example
//! `Company Administrator`, the old API name of Global Administrator) are accepted
//! as aliases and mapped to the current name, so the Global Administrator guard
//! cannot be sidestepped by an old spelling.

/// The role that needs `--allow-global-admin`.
pub const GLOBAL_ADMIN: &str = "Global Administrator";

/// Built-in role display names, sorted case-insensitively, no duplicates.
const ROLES: &[&str] = &[
    "Agent ID Administrator",
    "Agent ID Developer",
    "Agent Registry Administrator",
    "AI Administrator",
    "Application Administrator",
    "Application Developer",
    "Attack Payload Author",
    "Attack Simulation Administrator",
    "Attribute Assignment Administrator",
    "Attribute Assignment Reader",
    "Attribute Definition Administrator",
    "Attribute Definition Reader",
    "Attribute Log Administrator",
    "Attribute Log Reader",
    "Attribute Provisioning Administrator",
    "Attribute Provisioning Reader",
    "Authentication Administrator",
    "Authentication Extensibility Administrator",
    "Authentication Policy Administrator",
    "Azure DevOps Administrator",
    "Azure Information Protection Administrator",
    "B2C IEF Keyset Administrator",
    "B2C IEF Policy Administrator",
    "Billing Administrator",
    "Cloud App Security Administrator",
    "Cloud Application Administrator",
    "Cloud Device Administrator",
    "Compliance Administrator",
    "Compliance Data Administrator",
    "Conditional Access Administrator",
    "Customer LockBox Access Approver",
    "Desktop Analytics Administrator",
    "Directory Readers",
    "Directory Synchronization Accounts",
    "Directory Writers",
    "Domain Name Administrator",
    "Dragon Administrator",
    "Dynamics 365 Administrator",
    "Dynamics 365 Business Central Administrator",
    "Edge Administrator",
    "Exchange Administrator",
    "Exchange Backup Administrator",
    "Exchange Recipient Administrator",
    "Extended Directory User Administrator",
    "External ID User Flow Administrator",
    "External ID User Flow Attribute Administrator",
    "External Identity Provider Administrator",
    "Fabric Administrator",
    "Global Administrator",
    "Global Reader",
    "Global Secure Access Administrator",
    "Global Secure Access Log Reader",
    "Groups Administrator",
    "Guest Inviter",
    "Helpdesk Administrator",
    "Hybrid Identity Administrator",
    "Identity Governance Administrator",
    "Insights Administrator",
    "Insights Analyst",
    "Insights Business Leader",
    "Intune Administrator",
    "IoT Device Administrator",
    "Kaizala Administrator",
    "Knowledge Administrator",
    "Knowledge Manager",
    "License Administrator",
    "Lifecycle Workflows Administrator",
    "Message Center Privacy Reader",
    "Message Center Reader",
    "Microsoft 365 Backup Administrator",
    "Microsoft 365 Migration Administrator",
    "Microsoft 365 Support Engineer",
    "Microsoft Entra Joined Device Local Administrator",
    "Microsoft Graph Data Connect Administrator",
    "Microsoft Hardware Warranty Administrator",
    "Microsoft Hardware Warranty Specialist",
    "Network Administrator",
    "Office Apps Administrator",
    "Organizational Branding Administrator",
    "Organizational Data Source Administrator",
    "Organizational Messages Approver",
    "Organizational Messages Writer",
    "Partner Tier1 Support",
    "Partner Tier2 Support",
    "Password Administrator",
    "People Administrator",
    "Permissions Management Administrator",
    "Places Administrator",
    "Power Platform Administrator",
    "Printer Administrator",
    "Printer Technician",
    "Privileged Authentication Administrator",
    "Privileged Role Administrator",
    "Reports Reader",
    "Search Administrator",
    "Search Editor",
    "Security Administrator",
    "Security Operator",
    "Security Reader",
    "Service Support Administrator",
    "SharePoint Administrator",
    "SharePoint Advanced Management Administrator",
    "SharePoint Backup Administrator",
    "SharePoint Embedded Administrator",
    "Skype for Business Administrator",
    "Teams Administrator",
    "Teams Communications Administrator",
    "Teams Communications Support Engineer",
    "Teams Communications Support Specialist",
    "Teams Devices Administrator",
    "Teams Reader",
    "Teams Telephony Administrator",
    "Tenant Creator",
    "Usage Summary Reports Reader",
    "User Administrator",
    "User Experience Success Manager",
    "Virtual Visits Administrator",
    "Viva Glint Tenant Administrator",
    "Viva Goals Administrator",
    "Viva Pulse Administrator",
    "Windows 365 Administrator",
    "Windows Update Deployment Administrator",
    "Yammer Administrator",
];

/// Former or API-only names of roles, mapped to the current display name.
const ALIASES: &[(&str, &str)] = &[
    ("Company Administrator", GLOBAL_ADMIN),
    ("Power BI Administrator", "Fabric Administrator"),
    ("Power BI Service Administrator", "Fabric Administrator"),
    (
        "Azure AD Joined Device Local Administrator",
        "Microsoft Entra Joined Device Local Administrator",
    ),
    ("Partner Tier 1 Support", "Partner Tier1 Support"),
    ("Partner Tier 2 Support", "Partner Tier2 Support"),
];

/// Whether `input`, split on runs of whitespace, is the same words as `name`
/// (ASCII case-insensitive). Role names are single-spaced ASCII.
fn same_words(input: &str, name: &str) -> bool {
    let mut given = input.split_whitespace();
    let mut wanted = name.split(' ');
    loop {
        match (given.next(), wanted.next()) {
            (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// The canonical spelling of the admin role `name`, or `None` if it is not a
/// built-in role.
///
/// Matching ignores ASCII case, surrounding whitespace and the width of the gaps
/// between words: `" global  administrator "` gives `Some("Global Administrator")`.
/// A former name listed in `ALIASES` gives the current name.
#[must_use]
pub fn canonical_role(name: &str) -> Option<&'static str> {
    if name.trim().is_empty() {
        return None;
    }
    ROLES
        .iter()
        .copied()
        .find(|role| same_words(name, role))
        .or_else(|| {
            ALIASES
                .iter()
                .find(|(alias, _)| same_words(name, alias))
                .map(|&(_, role)| role)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn roles_are_sorted_and_unique_ignoring_case() {
        assert!(ROLES.len() >= 60);
        for pair in ROLES.windows(2) {
            assert!(
                pair[0].to_ascii_lowercase() < pair[1].to_ascii_lowercase(),
                "{:?} must come before {:?}",
                pair[0],
                pair[1]
            );
        }
        let set: HashSet<String> = ROLES.iter().map(|r| r.to_ascii_lowercase()).collect();
        assert_eq!(set.len(), ROLES.len());
    }

    #[test]
    fn names_are_single_spaced_and_trimmed() {
        for role in ROLES.iter().chain(ALIASES.iter().map(|(a, _)| a)) {
            assert_eq!(role.trim(), *role);
            assert!(!role.contains("  "), "{role:?}");
            assert!(role.is_ascii(), "{role:?}");
        }
    }

    #[test]
    fn aliases_point_at_roles_and_do_not_shadow_them() {
        for (alias, role) in ALIASES {
            assert!(ROLES.contains(role), "{role:?}");
            assert!(
                !ROLES.iter().any(|r| r.eq_ignore_ascii_case(alias)),
                "{alias:?}"
            );
        }
    }

    #[test]
    fn every_role_maps_to_itself() {
        for role in ROLES {
            assert_eq!(canonical_role(role), Some(*role));
        }
    }

    #[test]
    fn global_admin_is_a_role() {
        assert_eq!(canonical_role(GLOBAL_ADMIN), Some(GLOBAL_ADMIN));
    }

    #[test]
    fn matching_ignores_case_and_spacing() {
        assert_eq!(
            canonical_role(" global  administrator "),
            Some("Global Administrator")
        );
        assert_eq!(
            canonical_role("USER ADMINISTRATOR"),
            Some("User Administrator")
        );
        assert_eq!(
            canonical_role("helpdesk\tadministrator"),
            Some("Helpdesk Administrator")
        );
        assert_eq!(
            canonical_role("sharepoint administrator"),
            Some("SharePoint Administrator")
        );
        assert_eq!(
            canonical_role("Dynamics 365 administrator"),
            Some("Dynamics 365 Administrator")
        );
    }

    #[test]
    fn former_names_map_to_current_ones() {
        assert_eq!(canonical_role("company administrator"), Some(GLOBAL_ADMIN));
        assert_eq!(
            canonical_role("Power BI Administrator"),
            Some("Fabric Administrator")
        );
    }

    #[test]
    fn unknown_names_are_rejected() {
        for name in [
            "Super Admin",
            "",
            "   ",
            "Global",
            "Global Administrator Extra",
            "GlobalAdministrator",
            "Global Administrators",
            "Admin",
        ] {
            assert_eq!(canonical_role(name), None, "{name:?}");
        }
    }
}
