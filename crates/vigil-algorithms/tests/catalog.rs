//! The catalogue: completeness, names, titles, lookups and event types.

use std::collections::HashSet;

use vigil_algorithms::{event_type as ev, validate_common, Catalog, Placement, Provenance};

#[test]
fn has_the_41_algorithms_of_the_spec_in_order() {
    assert_eq!(Catalog::all().len(), 41);
    for (i, alg) in Catalog::iter().enumerate() {
        assert_eq!(usize::from(alg.number), i + 1, "{}", alg.id);
        assert_eq!(Catalog::by_number(alg.number).map(|a| a.id), Some(alg.id));
    }
}

#[test]
fn service_names_where_known() {
    let edge_only: Vec<u8> = Catalog::iter()
        .filter(|a| a.edge_service_name.is_some() && a.cloud_service_name.is_none())
        .map(|a| a.number)
        .collect();
    assert_eq!(edge_only, [31, 33, 34, 35]);
    let nameless: Vec<u8> = Catalog::iter()
        .filter(|a| a.edge_service_name.is_none() && a.cloud_service_name.is_none())
        .map(|a| a.number)
        .collect();
    // Cyanobacteria (41) has no creation API in the spec: Vigil names it `c-cyanobacteria-*`.
    assert!(nameless.is_empty(), "{nameless:?}");
    let cloud_only = Catalog::iter().filter(|a| a.edge_service_name.is_none()).count();
    assert_eq!(cloud_only, 0);
    let both = Catalog::iter()
        .filter(|a| a.edge_service_name.is_some() && a.cloud_service_name.is_some())
        .count();
    assert_eq!(both, 37);
}

#[test]
fn service_names_are_unique_and_match_their_placement_and_id() {
    let mut seen = HashSet::new();
    for alg in Catalog::iter() {
        for placement in [Placement::Edge, Placement::Cloud] {
            let Some(name) = alg.service_name(placement) else {
                continue;
            };
            assert!(seen.insert(name), "duplicate service name {name}");
            assert_eq!(Placement::from_service_name(name), Some(placement), "{name}");
            assert_eq!(name, format!("{}-{}", alg.id, placement.as_str()));
            let (found, found_placement) = Catalog::by_service_name(name).expect(name);
            assert_eq!((found.id, found_placement), (alg.id, placement));
        }
    }
    assert_eq!(seen.len(), 37 * 2 + 4);
}

#[test]
fn placement_comes_from_the_suffix() {
    assert_eq!(Placement::from_service_name("x-edge"), Some(Placement::Edge));
    assert_eq!(Placement::from_service_name("x-cloud"), Some(Placement::Cloud));
    assert_eq!(Placement::from_service_name("c-flowcount"), None);
    assert_eq!(Placement::Edge.task_type_code(), "1");
    assert_eq!(Placement::Cloud.task_type_code(), "0");
    assert!(Catalog::by_service_name("c-flowcount").is_none());
    assert!(Catalog::by_service_name("C-FLOWCOUNT-EDGE").is_none());
    assert!(Catalog::by_service_name("c-urban-roadside-stall-cloud").is_none());
    assert!(Catalog::by_service_name("").is_none());
    let (alg, placement) = Catalog::by_service_name("c-intrusiondetection-cloud").unwrap();
    assert_eq!((alg.number, placement), (2, Placement::Cloud));
}

#[test]
fn the_implemented_algorithms_are_exactly_the_registry() {
    let implemented: Vec<&str> = Catalog::implemented().map(|a| a.id).collect();
    let mut registry: Vec<&str> = vigil_algorithms::registry::REGISTRY.iter().map(|(id, _)| *id).collect();
    registry.sort_by_key(|id| Catalog::iter().position(|a| a.id == *id));
    assert_eq!(
        implemented, registry,
        "catalogue `.implemented()` flags and REGISTRY lines differ"
    );
    // Issue 10: the 16 algorithms on detector + tracker + rules; issue 11: 12 more on pose,
    // faces, OCR and pixels; issue 12: the 13 on an operator's model (catalog::model_roles).
    assert_eq!(implemented.len(), 41, "{implemented:?}");
    let model_bound: Vec<&str> = vigil_algorithms::catalog::model_roles::model_bound_ids().collect();
    assert_eq!(model_bound.len(), 13);
    assert!(model_bound.iter().all(|id| implemented.contains(id)));
    for alg in Catalog::iter() {
        assert_eq!(alg.refuses_unknown_keys(), alg.implemented, "{}", alg.id);
    }
}

/// ListTasks `title` filter: `^[a-zA-Z0-9\u4e00-\u9fa5-_,]{2,64}$`.
fn fits_title_filter(title: &str) -> bool {
    let n = title.chars().count();
    (2..=64).contains(&n)
        && title
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ('\u{4e00}'..='\u{9fa5}').contains(&c) || "-_,".contains(c))
}

#[test]
fn titles_are_unique_fit_the_list_filter_and_look_up() {
    let mut zh = HashSet::new();
    let mut en = HashSet::new();
    for alg in Catalog::iter() {
        assert!(zh.insert(alg.title), "duplicate title {}", alg.title);
        assert!(en.insert(alg.title_en.to_lowercase()), "duplicate {}", alg.title_en);
        assert!(fits_title_filter(alg.title), "title {:?}", alg.title);
        assert_eq!(Catalog::by_title(alg.title).map(|a| a.id), Some(alg.id));
        let upper = alg.title_en.to_uppercase();
        assert_eq!(Catalog::by_title(&upper).map(|a| a.id), Some(alg.id));
    }
    assert_eq!(Catalog::by_title("入侵检测").map(|a| a.number), Some(2));
    assert!(Catalog::by_title("入侵").is_none());
}

#[test]
fn config_objects_are_unique_where_known() {
    let mut seen = HashSet::new();
    for alg in Catalog::iter() {
        match alg.config_object {
            Some(name) => {
                assert!(name.ends_with("ServiceConfig"), "{name}");
                assert!(seen.insert(name), "duplicate {name}");
            }
            None => assert_eq!(alg.number, 41),
        }
    }
}

#[test]
fn event_types_are_unique_and_look_up() {
    let mut seen = HashSet::new();
    for alg in Catalog::iter() {
        assert!(!alg.events.is_empty(), "{} emits nothing", alg.id);
        for event in alg.events {
            assert!(seen.insert(event.code), "duplicate event_type {}", event.code);
            let (owner, found) = Catalog::event_type(event.code).unwrap();
            assert_eq!((owner.id, found.code), (alg.id, event.code));
        }
    }
    // 47 codes of spec §6.3 plus Vigil's region-count, heat-map, waving and bending codes.
    assert_eq!(seen.len(), 51);
    let vigil: Vec<u64> = Catalog::iter()
        .flat_map(|a| a.events)
        .filter(|e| e.provenance == Provenance::Vigil)
        .map(|e| e.code)
        .collect();
    assert_eq!(
        vigil,
        [ev::FLOW_REGION_COUNT, ev::FLOW_HEATMAP, ev::WAVING, ev::BENDING]
    );
    assert_eq!((ev::FLOW_REGION_COUNT, ev::FLOW_HEATMAP), (131_074, 131_075));
    let (alg, loitering) = Catalog::event_type(196_610).unwrap();
    assert_eq!((alg.id, loitering.meaning), ("c-intrusiondetection", "loitering"));
    assert_eq!(Catalog::event_type(ev::FLOW_LINE_COUNT).unwrap().0.id, "c-flowcount");
    assert_eq!(
        Catalog::event_type(ev::MOBILE_MANHOLE_COVER_MISSING).unwrap().0.number,
        28
    );
    assert!(Catalog::event_type(0).is_none());
}

#[test]
fn every_schema_has_unique_keys_valid_defaults_and_target_roi() {
    for alg in Catalog::iter() {
        let mut keys = HashSet::new();
        for param in alg.keys() {
            assert!(keys.insert(param.key), "{}: duplicate key {}", alg.id, param.key);
            assert_eq!(alg.param(param.key), Some(param));
        }
        assert!(keys.contains("target_roi"), "{}", alg.id);
        assert!(keys.contains("image_compression_ratio"), "{}", alg.id);
        // Defaults satisfy their own schema, and the effective config validates again unchanged
        // (an algorithm with a required key, speeding's `calibration`, has no empty config).
        if alg.keys().any(|p| p.required) {
            assert!(validate_common(alg, &serde_json::json!({})).is_err(), "{}", alg.id);
            continue;
        }
        let effective = validate_common(alg, &serde_json::json!({})).expect(alg.id);
        let again = validate_common(alg, &effective.to_value()).expect(alg.id);
        assert_eq!(again, effective, "{}", alg.id);
    }
}
