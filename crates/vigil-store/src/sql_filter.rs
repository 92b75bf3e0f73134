//! Queries built from fixed SQL fragments with every value a bind parameter: the list filters
//! collect their values as [`Arg`]s in placeholder order and bind them with [`bind_args`].

use sqlx::query::Query;
use sqlx::{Database, Encode, Type};

use crate::Backend;

/// A bind value of a query built from fixed fragments.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    S(String),
    I(i64),
}

/// Binds `args` in order (`$1`, `$2`, …), on an `Any` or a native query.
pub(crate) fn bind_args<'q, DB: Database>(
    mut q: Query<'q, DB, <DB as Database>::Arguments<'q>>,
    args: &[Arg],
) -> Query<'q, DB, <DB as Database>::Arguments<'q>>
where
    String: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
{
    for a in args {
        q = match a {
            Arg::S(v) => q.bind(v.clone()),
            Arg::I(v) => q.bind(*v),
        };
    }
    q
}

/// A WHERE clause under construction: fixed fragments, values as numbered bind parameters.
pub(crate) struct Where {
    pub sql: String,
    pub args: Vec<Arg>,
    backend: Backend,
}

impl Where {
    /// Starts with `{project_col} = $1`.
    pub fn project(backend: Backend, project_col: &str, project_id: &str) -> Self {
        Self {
            sql: format!("{project_col} = $1"),
            args: vec![Arg::S(project_id.to_string())],
            backend,
        }
    }

    /// No condition yet (the first `and` starts the clause).
    pub fn new(backend: Backend) -> Self {
        Self {
            sql: String::new(),
            args: Vec::new(),
            backend,
        }
    }

    /// The placeholder of a new bind value.
    pub fn arg(&mut self, v: Arg) -> String {
        self.args.push(v);
        format!("${}", self.args.len())
    }

    /// `(p1, p2, …)` for the values (`(NULL)` when empty: matches nothing).
    pub fn list(&mut self, vals: &[String]) -> String {
        if vals.is_empty() {
            return "(NULL)".into();
        }
        let ps: Vec<String> = vals.iter().map(|v| self.arg(Arg::S(v.clone()))).collect();
        format!("({})", ps.join(", "))
    }

    /// `(p1, p2, …)` for integer values (`(NULL)` when empty: matches nothing).
    pub fn int_list(&mut self, vals: &[i64]) -> String {
        if vals.is_empty() {
            return "(NULL)".into();
        }
        let ps: Vec<String> = vals.iter().map(|v| self.arg(Arg::I(*v))).collect();
        format!("({})", ps.join(", "))
    }

    pub fn and(&mut self, cond: &str) {
        if !self.sql.is_empty() {
            self.sql += " AND ";
        }
        self.sql += cond;
    }

    /// The condition "`hay` contains `needle`" (exact bytes, like Rust's `str::contains`; no
    /// LIKE wildcards to escape).
    pub fn contains_cond(&mut self, hay: &str, needle: &str) -> String {
        let p = self.arg(Arg::S(needle.to_string()));
        match self.backend {
            Backend::Sqlite => format!("instr({hay}, {p}) > 0"),
            Backend::Postgres => format!("strpos({hay}, {p}) > 0"),
        }
    }

    pub fn contains(&mut self, hay: &str, needle: &str) {
        let cond = self.contains_cond(hay, needle);
        self.and(&cond);
    }

    /// The condition "`hay` contains `needle` ignoring case" (Rust's
    /// `to_lowercase().contains(…)`, exact on ASCII text).
    pub fn contains_ci_cond(&mut self, hay: &str, needle: &str) -> String {
        self.contains_cond(&format!("LOWER({hay})"), &needle.to_lowercase())
    }

    /// The condition "`{alias}.name` contains `needle` ignoring case", as
    /// [`Self::contains_ci_cond`], written so that PostgreSQL can use the table's trigram index
    /// ([`NAME_INDEXES`]) when the needle holds a trigram.
    pub fn name_contains_ci_cond(&mut self, alias: &str, needle: &str) -> String {
        let lower = needle.to_lowercase();
        if self.backend == Backend::Postgres && pg_has_trigram(&lower) {
            let p = self.arg(Arg::S(format!("%{}%", like_escaped(&lower))));
            return format!("LOWER({alias}.name) LIKE {p}");
        }
        self.contains_ci_cond(&format!("{alias}.name"), needle)
    }

    pub fn name_contains_ci(&mut self, alias: &str, needle: &str) {
        let cond = self.name_contains_ci_cond(alias, needle);
        self.and(&cond);
    }

    pub fn contains_ci(&mut self, hay: &str, needle: &str) {
        let cond = self.contains_ci_cond(hay, needle);
        self.and(&cond);
    }
}

/// A table whose `name` searches (case-insensitive substring, [`Where::name_contains_ci`]) go
/// through a `pg_trgm` GIN index on `LOWER(name)` on PostgreSQL, made at start-up
/// (`migrations::ensure_pg_name_search`). SQLite reads the project's names: FTS5 `trigram`
/// tables kept by triggers cost each source create about 0.12 ms more inside its one write lock
/// and answered some creates with SQLITE_BUSY under 50 clients, so they were not kept
/// (docs/scale.md).
pub(crate) struct NameIndex {
    pub table: &'static str,
    pub pg_index: &'static str,
}

pub(crate) const NAME_INDEXES: &[NameIndex] = &[
    NameIndex {
        table: "video_sources",
        pg_index: "video_sources_name_trgm",
    },
    NameIndex {
        table: "tasks",
        pg_index: "tasks_name_trgm",
    },
];

/// `needle` escaped for a LIKE pattern with PostgreSQL's default escape character.
fn like_escaped(needle: &str) -> String {
    let mut out = String::with_capacity(needle.len() + 2);
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Whether `pg_trgm` can take trigrams from a LIKE `%needle%`: it splits text into words of
/// letters and digits, and a word shorter than three characters inside the pattern gives none.
/// Without one its index reads every entry, slower than the plain scan.
fn pg_has_trigram(needle: &str) -> bool {
    needle
        .split(|c: char| !c.is_alphanumeric())
        .any(|word| word.chars().count() >= 3)
}

/// A text column ordered by bytes (Rust's `str` order) on both backends.
pub(crate) fn bytewise(backend: Backend, col: &str) -> String {
    match backend {
        Backend::Sqlite => col.to_string(),
        Backend::Postgres => format!("{col} COLLATE \"C\""),
    }
}

/// ` LIMIT n OFFSET m` for a page given as (offset, limit); empty for every row. The numbers are
/// written into the SQL rather than bound: PostgreSQL costs a bound LIMIT/OFFSET as a guessed
/// 10 % of the rows, finds its generic plan dearer than a custom one and so plans the statement
/// again at every execution (as long as running a 50-row page); with literals it reuses the
/// cached plan. Each distinct page is then its own prepared statement, which costs no more than
/// that planning did.
pub fn page_clause(page: Option<(i64, i64)>) -> String {
    match page {
        None => String::new(),
        Some((offset, limit)) => format!(" LIMIT {} OFFSET {}", limit.max(0), offset.max(0)),
    }
}
