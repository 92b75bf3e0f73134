//! Lists paged in SQL (issue 15): every list endpoint, on SQLite and PostgreSQL, returns exactly
//! the items of the documented ordering for every filter and sort, ties in the sort key included.
//! Each module seeds data through the API (or the store where the API cannot make ties) and
//! compares every page with the order computed here from the full set.

mod common;

#[path = "list_paging/alarms.rs"]
mod alarms;
#[path = "list_paging/sources.rs"]
mod sources;
#[path = "list_paging/tasks.rs"]
mod tasks;
