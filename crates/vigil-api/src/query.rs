//! Query strings as VIAS clients send them: repeated keys (`?status=1&status=9`) and
//! comma-joined lists both mean a list (spec §1.8). Every accessor names the field on error.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use vigil_core::FieldError;

use crate::error::ApiError;

#[derive(Debug, Default, Clone)]
pub struct QueryParams(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::parse(parts.uri.query().unwrap_or("")))
    }
}

impl QueryParams {
    pub fn parse(q: &str) -> Self {
        Self(form_urlencoded::parse(q.as_bytes()).into_owned().collect())
    }

    pub fn one(&self, name: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// All values of a repeated or comma-joined parameter, empty items dropped.
    pub fn many(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(',').map(|s| s.trim().to_string()).collect::<Vec<_>>())
            .filter(|s| !s.is_empty())
            .collect()
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, FieldError> {
        match self.one(name) {
            None | Some("") => Ok(None),
            Some("true") | Some("True") | Some("1") => Ok(Some(true)),
            Some("false") | Some("False") | Some("0") => Ok(Some(false)),
            Some(_) => Err(FieldError::invalid(name, "must be true or false")),
        }
    }

    pub fn int(&self, name: &str, min: i64, max: i64) -> Result<Option<i64>, FieldError> {
        match self.one(name) {
            None | Some("") => Ok(None),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
                _ => Err(FieldError::invalid(
                    name,
                    format!("must be an integer from {min} to {max}"),
                )),
            },
        }
    }

    pub fn choice(&self, name: &str, allowed: &[&str]) -> Result<Option<String>, FieldError> {
        match self.one(name) {
            None | Some("") => Ok(None),
            Some(v) if allowed.contains(&v) => Ok(Some(v.to_string())),
            Some(_) => Err(FieldError::invalid(
                name,
                format!("must be one of {}", allowed.join(", ")),
            )),
        }
    }

    pub fn choices(&self, name: &str, allowed: &[&str], max_items: usize) -> Result<Vec<String>, FieldError> {
        let vals = self.many(name);
        if vals.len() > max_items {
            return Err(FieldError::invalid(name, format!("at most {max_items} values")));
        }
        if let Some(bad) = vals.iter().find(|v| !allowed.contains(&v.as_str())) {
            return Err(FieldError::invalid(
                name,
                format!("{bad:?} is not one of {}", allowed.join(", ")),
            ));
        }
        Ok(vals)
    }

    pub fn text(&self, name: &str, max_len: usize) -> Result<Option<String>, FieldError> {
        match self.one(name) {
            None | Some("") => Ok(None),
            Some(v) if v.chars().count() <= max_len => Ok(Some(v.to_string())),
            Some(_) => Err(FieldError::invalid(
                name,
                format!("must be at most {max_len} characters"),
            )),
        }
    }
}

/// VIAS "paged switch" pagination (spec §1.8 P1).
#[derive(Debug, Clone, Copy)]
pub struct PagedSwitch {
    pub is_paged: bool,
    pub page_size: usize,
    pub page_num: usize,
    pub ascending: bool,
}

impl PagedSwitch {
    /// From already validated `is_paged`, `page_size`, `page_num` and `order_by` values.
    pub fn new(is_paged: Option<bool>, page_size: Option<i64>, page_num: Option<i64>, order_by: Option<&str>) -> Self {
        Self {
            is_paged: is_paged.unwrap_or(false),
            page_size: page_size.unwrap_or(10).max(1) as usize,
            page_num: page_num.unwrap_or(1).max(1) as usize,
            ascending: order_by == Some("asc"),
        }
    }

    /// Sorts by `key` (ties by id, so the order is stable), applies `order_by`, and returns the
    /// number of items and this page of them.
    pub fn sort_and_page<T, K: Ord>(&self, mut items: Vec<T>, key: impl Fn(&T) -> (K, &str)) -> (i64, Vec<T>) {
        items.sort_by(|a, b| key(a).cmp(&key(b)));
        if !self.ascending {
            items.reverse();
        }
        let matched = items.len() as i64;
        (matched, self.apply(items))
    }

    /// The page as SQL (offset, limit); None when not paged (every item).
    pub fn sql_page(&self) -> Option<(i64, i64)> {
        let size = self.page_size as i64;
        self.is_paged.then(|| ((self.page_num as i64 - 1) * size, size))
    }

    /// The page's slice of an already sorted list (the whole list when not paged).
    pub fn apply<T>(&self, items: Vec<T>) -> Vec<T> {
        if !self.is_paged {
            return items;
        }
        items
            .into_iter()
            .skip((self.page_num - 1) * self.page_size)
            .take(self.page_size)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_and_comma_lists() {
        let q = QueryParams::parse("status=1&status=9&type=url,obs&is_paged=true&page_size=3");
        assert_eq!(q.many("status"), vec!["1", "9"]);
        assert_eq!(q.many("type"), vec!["url", "obs"]);
        assert_eq!(q.bool("is_paged").unwrap(), Some(true));
        assert_eq!(q.int("page_size", 5, 200).unwrap_err().param, "page_size");
        assert_eq!(q.choices("status", &["1", "2"], 3).unwrap_err().param, "status");
    }
}
