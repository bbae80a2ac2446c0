//! offset (0-based) / pageSize paging; toIndex exclusive (reference §3.9).

use crate::common::*;
use goto_emulator::Config;
use serde_json::Value;

/// `(fromIndex, toIndex, total, results.len())` of one page.
type Page = (u64, u64, u64, usize);

/// Walks the list as a client should: advance by results.len(), stop on an empty page or at total.
fn walk(api: &Api, path: &str, page: usize) -> (Vec<Value>, Vec<Page>) {
    let (mut all, mut pages, mut offset) = (Vec::new(), Vec::new(), 0usize);
    for _ in 0..100 {
        let v = api.get(&format!("{path}?offset={offset}&pageSize={page}")).json();
        let results = v["results"].as_array().unwrap().clone();
        let (from, to, total) =
            (v["fromIndex"].as_u64().unwrap(), v["toIndex"].as_u64().unwrap(), v["total"].as_u64().unwrap());
        pages.push((from, to, total, results.len()));
        offset += results.len();
        all.extend(results);
        if pages.last().unwrap().3 == 0 || offset as u64 >= total {
            break;
        }
    }
    (all, pages)
}

#[test]
fn an_empty_account_has_one_empty_page() {
    let emu = start(Some(with_users(0)), Config::default());
    let (all, pages) = walk(&Api::new(&emu), "users", 3);
    assert!(all.is_empty());
    assert_eq!(pages, vec![(0, 0, 0, 0)]);
}

#[test]
fn an_exact_multiple_of_the_page_size() {
    let emu = start(Some(with_users(6)), Config::default());
    let api = Api::new(&emu);
    let (all, pages) = walk(&api, "users", 3);
    assert_eq!(pages, vec![(0, 3, 6, 3), (3, 6, 6, 3)]);
    assert_eq!(all.len(), 6);
    // Past the end: empty, same total.
    let v = api.get("users?offset=6&pageSize=3").json();
    assert_eq!((v["results"].as_array().unwrap().len(), v["total"].as_u64()), (0, Some(6)));
    let v = api.get("users?offset=60&pageSize=3").json();
    assert_eq!(v["results"].as_array().unwrap().len(), 0);
}

#[test]
fn one_over_a_multiple_of_the_page_size() {
    let emu = start(Some(with_users(7)), Config::default());
    let (all, pages) = walk(&Api::new(&emu), "users", 3);
    assert_eq!(pages, vec![(0, 3, 7, 3), (3, 6, 7, 3), (6, 7, 7, 1)]);
    let emails: Vec<&str> = all.iter().map(|u| u["email"].as_str().unwrap()).collect();
    assert_eq!(emails.first(), Some(&"user000@example.com"));
    assert_eq!(emails.last(), Some(&"user006@example.com"));
    let mut dedup = emails.clone();
    dedup.dedup();
    assert_eq!(dedup.len(), 7);
}

#[test]
fn page_size_is_capped_and_has_a_default() {
    let emu = start(Some(with_users(12)), Config { max_page_size: 5, default_page_size: 4, ..Config::default() });
    let api = Api::new(&emu);
    let v = api.get("users?pageSize=1000").json();
    assert_eq!(
        (v["results"].as_array().unwrap().len(), v["toIndex"].as_u64(), v["total"].as_u64()),
        (5, Some(5), Some(12))
    );
    let v = api.get("users").json();
    assert_eq!(v["results"].as_array().unwrap().len(), 4);
    let (all, pages) = walk(&api, "users", 1000);
    assert_eq!((all.len(), pages.len()), (12, 3));
}

#[test]
fn bad_paging_parameters_are_refused() {
    let emu = start(Some(with_users(3)), Config::default());
    let api = Api::new(&emu);
    for q in ["pageSize=0", "pageSize=-1", "pageSize=x", "offset=-1", "offset=abc"] {
        let r = api.get(&format!("users?{q}"));
        assert_eq!(r.status, 400, "{q}");
        assert!(r.error_code().starts_with("invalid."), "{q}");
    }
}

#[test]
fn a_filtered_list_pages_over_the_matches() {
    let emu = start(Some(with_users(5)), Config::default());
    let v = Api::new(&emu).get("users?filter=email%20eq%20%22USER003@example.com%22&offset=0&pageSize=1").json();
    assert_eq!((v["total"].as_u64(), v["toIndex"].as_u64()), (Some(1), Some(1)));
}

#[test]
fn licenses_page_the_same_way() {
    let emu = start(Some(acme()), Config::default());
    let (all, pages) = walk(&Api::new(&emu), "licenses", 2);
    assert_eq!(pages, vec![(0, 2, 3, 2), (2, 3, 3, 1)]);
    assert_eq!(all.len(), 3);
}
