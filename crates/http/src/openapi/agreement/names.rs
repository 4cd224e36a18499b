//! The enumerated names: roles, statuses, listing orders, audited actions and an
//! import's conflict policies.

use std::sync::LazyLock;

use proptest::{prelude::*, sample::select};
use roster_domain::{AuditAction, OnConflict, Role, Sort, Status};

use super::{PUBLISHED, Published, tricky_text};

/// A component schema of the document, by name.
fn component(name: &str) -> Published {
    Published::of(&PUBLISHED["components"]["schemas"][name])
}

static ROLES: LazyLock<Published> = LazyLock::new(|| component("RoleName"));
static STATUSES: LazyLock<Published> = LazyLock::new(|| component("StatusName"));
static SORTS: LazyLock<Published> = LazyLock::new(|| component("SortName"));
static ACTIONS: LazyLock<Published> = LazyLock::new(|| component("AuditActionName"));
static CONFLICTS: LazyLock<Published> = LazyLock::new(|| component("OnConflictName"));

/// A known name, or one changed in a way a lenient parser might forgive: case, white
/// space around it, a doubled or misplaced `-`.
fn name_like() -> impl Strategy<Value = String> {
    // The names the domain knows, as it spells them.
    let known = select(
        [Role::Admin, Role::Member]
            .map(Role::as_str)
            .into_iter()
            .chain([Status::Active, Status::Disabled].map(Status::as_str))
            .chain(Sort::NAMES)
            .chain(AuditAction::ALL.map(AuditAction::as_str))
            .chain([OnConflict::Skip, OnConflict::Update, OnConflict::Fail].map(OnConflict::as_str))
            .collect::<Vec<_>>(),
    );
    prop_oneof![
        3 => known.clone().prop_map(str::to_owned),
        1 => known.clone().prop_map(str::to_uppercase),
        1 => known.clone().prop_map(|n| format!(" {n}")),
        1 => known.clone().prop_map(|n| format!("{n}\n")),
        1 => known.clone().prop_map(|n| format!("-{n}")),
        1 => known.prop_map(|n| format!("{n}-")),
        1 => tricky_text(8),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn names_parse_exactly_when_their_enumerations_list_them(text in name_like()) {
        prop_assert_eq!(text.parse::<Role>().is_ok(), ROLES.accepts(text.as_str()), "role {:?}", text);
        prop_assert_eq!(text.parse::<Status>().is_ok(), STATUSES.accepts(text.as_str()), "status {:?}", text);
        prop_assert_eq!(text.parse::<Sort>().is_ok(), SORTS.accepts(text.as_str()), "sort {:?}", text);
        prop_assert_eq!(text.parse::<AuditAction>().is_ok(), ACTIONS.accepts(text.as_str()), "action {:?}", text);
        prop_assert_eq!(text.parse::<OnConflict>().is_ok(), CONFLICTS.accepts(text.as_str()), "on_conflict {:?}", text);
    }
}
