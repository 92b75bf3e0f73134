//! `docs/algorithms.md` shows the catalogue as tables; this test keeps them in step with the
//! code. After a catalogue change run `VIGIL_BLESS_DOCS=1 cargo test -p vigil-algorithms --test docs`
//! to rewrite the generated parts (between the `<!-- generated:… -->` markers).

use std::fmt::Write as _;
use std::path::PathBuf;

use vigil_algorithms::{AlgorithmSpec, Catalog, DefaultValue, Provenance};

fn doc_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/algorithms.md")
}

fn code(name: Option<&str>) -> String {
    name.map_or_else(|| "–".to_string(), |n| format!("`{n}`"))
}

fn events(alg: &AlgorithmSpec) -> String {
    let items: Vec<String> = alg
        .events
        .iter()
        .map(|e| match e.provenance {
            Provenance::Spec => format!("{} {}", e.code, e.meaning),
            Provenance::Vigil => format!("{} {} (**Vigil**)", e.code, e.meaning),
        })
        .collect();
    items.join("; ")
}

fn catalogue_table() -> String {
    let mut out = String::from(
        "| # | Title | English title | Edge service_name | Cloud service_name | Config object | event_type | Implemented |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for a in Catalog::iter() {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            a.number,
            a.title,
            a.title_en,
            code(a.edge_service_name),
            code(a.cloud_service_name),
            a.config_object.unwrap_or("–"),
            events(a),
            if a.implemented { "**yes**" } else { "no" },
        );
    }
    out
}

/// Escapes `|` inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn default_text(d: DefaultValue) -> String {
    match d {
        DefaultValue::None => "–".to_string(),
        DefaultValue::Int(v) => v.to_string(),
        DefaultValue::Str(s) => format!("`\"{s}\"`"),
    }
}

fn key_table(alg: &AlgorithmSpec) -> String {
    let mut out = format!(
        "#### {} – {} (`{}`)\n\n| Key | Type | Range | Default | Required | Meaning |\n|---|---|---|---|---|---|\n",
        alg.number, alg.title_en, alg.id
    );
    for p in alg.keys() {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} |",
            p.key,
            p.type_name(),
            cell(&p.range_text()),
            default_text(p.default),
            if p.required { "yes" } else { "no" },
            p.meaning,
        );
    }
    for c in alg.constraints {
        let vigil_algorithms::Constraint::NotGreater { lower, upper } = c;
        let _ = writeln!(out, "\nAlso: `{lower}` ≤ `{upper}`.");
    }
    out
}

fn implemented_keys() -> String {
    let tables: Vec<String> = Catalog::implemented().map(key_table).collect();
    tables.join("\n")
}

fn provisional_keys() -> String {
    let mut out = String::from("| # | Algorithm | Keys besides the shared four (range, default) |\n|---|---|---|\n");
    for a in Catalog::iter().filter(|a| !a.implemented) {
        let keys: Vec<String> = a
            .keys()
            .filter(|p| {
                !matches!(
                    p.key,
                    "target_roi" | "image_compression_ratio" | "render_result_sw" | "render_roi_sw"
                ) || p.default != shared_default(p.key)
            })
            .map(|p| format!("`{}` ({}, {})", p.key, cell(&p.range_text()), default_text(p.default)))
            .collect();
        let keys = if keys.is_empty() {
            "–".to_string()
        } else {
            keys.join(", ")
        };
        let _ = writeln!(out, "| {} | {} | {} |", a.number, a.title_en, keys);
    }
    out
}

/// Default of a shared base key, to list only overridden ones.
fn shared_default(key: &str) -> DefaultValue {
    vigil_algorithms::schema::shared::BASE
        .iter()
        .find(|p| p.key == key)
        .map_or(DefaultValue::None, |p| p.default)
}

/// Replaces the text between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->`.
fn splice(doc: &str, name: &str, body: &str) -> Option<String> {
    let open = format!("<!-- generated:{name} -->\n");
    let close = format!("<!-- /generated:{name} -->");
    let start = doc.find(&open)? + open.len();
    let end = start + doc[start..].find(&close)?;
    Some(format!("{}{}{}", &doc[..start], body, &doc[end..]))
}

#[test]
fn docs_tables_match_the_catalogue() {
    let path = doc_path();
    let doc = std::fs::read_to_string(&path).expect("docs/algorithms.md");
    let mut expected = doc.clone();
    for (name, body) in [
        ("catalogue", catalogue_table()),
        ("implemented-keys", implemented_keys()),
        ("provisional-keys", provisional_keys()),
    ] {
        expected = splice(&expected, name, &body).unwrap_or_else(|| panic!("markers for {name} missing"));
    }
    if std::env::var_os("VIGIL_BLESS_DOCS").is_some() {
        std::fs::write(&path, &expected).expect("write docs");
    } else {
        assert!(
            doc == expected,
            "docs/algorithms.md is out of date: run VIGIL_BLESS_DOCS=1 cargo test -p vigil-algorithms --test docs"
        );
    }
}
