//! The write engine the GoTo and SCIM targets share: the book of an apply's outcomes (told
//! to the sink as they settle, with interrupts, a refusing audit log and progress handled
//! here once), one bounded-concurrency runner, and one paging-with-restart listing.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;

use super::http::{Http, HttpError};
use super::{ApplySink, Outcome, interrupted, not_logged};
use crate::diag::{Code, Problem};
use crate::live::Key;
use crate::progress::Progress;

/// What a target talks HTTP with: the runtime its requests run on, and the client, at
/// `requests_per_second`.
pub fn connect(requests_per_second: f64) -> Result<(tokio::runtime::Runtime, Http), Problem> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Problem::new(Code::Target, format!("cannot start the HTTP runtime: {e}")))?;
    let http = Http::new(requests_per_second).map_err(|e| Problem::new(Code::Target, e))?;
    Ok((rt, http))
}

/// A write that failed with `e`.
pub fn failed(e: &HttpError) -> Outcome {
    Outcome::Failed { message: e.to_string(), status: e.status, incident: e.incident.clone() }
}

/// The outcomes of one apply as they settle, told to the sink as they happen.
pub struct Ledger<'s> {
    sink: &'s mut dyn ApplySink,
    outcomes: Vec<Option<Outcome>>,
    /// The sink refused a write (the audit log cannot be written): nothing more starts.
    refused: bool,
    /// Ticked once per action, when it first settles.
    progress: Option<Progress>,
}

impl<'s> Ledger<'s> {
    /// The book of `actions` actions; with `progress`, a bar (or plain lines) on stderr.
    pub fn new(sink: &'s mut dyn ApplySink, actions: usize, progress: bool) -> Self {
        let progress = progress.then(|| Progress::new("applying", actions as u64));
        Ledger { sink, outcomes: vec![None; actions], refused: false, progress }
    }

    /// Whether new writes must not start: interrupted, or the audit log refused one.
    pub fn stopped(&self) -> bool {
        self.refused || interrupted()
    }

    /// Whether action `i` may start now; if not, it is settled skipped (why: interrupted, or
    /// the audit log refused an earlier write).
    pub fn may_start(&mut self, i: usize) -> bool {
        if self.refused {
            self.settle(i, not_logged(), None);
            false
        } else if interrupted() {
            self.settle(i, Outcome::Skipped { reason: "interrupted".into() }, None);
            false
        } else {
            true
        }
    }

    /// Whether the write `request` for action `i` may leave now (the sink logged its intent);
    /// if not, the action is settled skipped.
    pub fn send(&mut self, i: usize, request: &str) -> bool {
        if !self.may_start(i) {
            return false;
        }
        if !self.sink.sending(i, request) {
            self.refused = true;
            self.settle(i, not_logged(), None);
            return false;
        }
        true
    }

    /// `send` for one request that carries several actions: all of them leave, or none (an
    /// action whose intent was logged before a refusal is settled "not started").
    pub fn send_all(&mut self, actions: &[usize], request: &str) -> bool {
        for (n, &i) in actions.iter().enumerate() {
            if !self.send(i, request) {
                for &j in &actions[..n] {
                    self.settle(j, Outcome::Skipped { reason: "not started".into() }, None);
                }
                for &j in &actions[n + 1..] {
                    // Refused or interrupted, so this settles it skipped.
                    let _ = self.may_start(j);
                }
                return false;
            }
        }
        true
    }

    pub fn settle(&mut self, i: usize, outcome: Outcome, key: Option<&Key>) {
        self.sink.settled(i, outcome.clone(), key);
        if self.outcomes[i].is_none()
            && let Some(p) = &self.progress
        {
            p.inc(1);
        }
        self.outcomes[i] = Some(outcome);
    }

    /// Sets an outcome found by a read-back, telling the sink only when it changed.
    pub fn revise(&mut self, i: usize, outcome: Outcome) {
        if self.outcomes[i].as_ref() != Some(&outcome) {
            self.settle(i, outcome, None);
        }
    }

    /// The actions of a task that ended without an answer (it panicked): failed, with why.
    pub fn lost(&mut self, actions: &[usize], message: &str) {
        for &i in actions {
            let outcome = Outcome::Failed { message: message.to_owned(), status: None, incident: None };
            self.settle(i, outcome, None);
        }
    }

    pub fn outcome(&self, i: usize) -> Option<&Outcome> {
        self.outcomes[i].as_ref()
    }

    pub fn warn(&mut self, i: usize, message: String) {
        self.sink.warn(i, message);
    }

    /// The writes are over: the progress bar goes.
    pub fn written(&mut self) {
        if let Some(p) = self.progress.take() {
            p.finish();
        }
    }

    /// The apply is over: every action not settled was never started.
    pub fn finish(mut self) {
        self.written();
        for i in 0..self.outcomes.len() {
            if self.outcomes[i].is_none() {
                self.settle(i, Outcome::Skipped { reason: "interrupted".into() }, None);
            }
        }
    }
}

/// A job's work, run as its own task.
pub type Task<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A task that ended without an answer (it panicked, or was cancelled), with the tag its job
/// was started with and what happened, secrets taken out.
pub struct Lost<G> {
    pub tag: G,
    pub message: String,
}

/// Runs `jobs`, at most `concurrency` at once. `start` turns a job into a task (tagged with
/// what a lost task is reported against), or settles it at once and gives `None`; `finish`
/// takes each task's answer as it comes, or the `Lost` of a task that panicked (the other
/// tasks go on), and may give a follow-up job, which starts before the rest of `jobs`.
/// `state` is what both share (the apply's `Ledger`, for writes).
pub async fn run<S, J, G, T>(
    state: &mut S,
    concurrency: usize,
    jobs: impl IntoIterator<Item = J>,
    mut start: impl FnMut(&mut S, J) -> Option<(G, Task<T>)>,
    mut finish: impl FnMut(&mut S, Result<T, Lost<G>>) -> Option<J>,
) where
    T: Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    let mut tags: HashMap<tokio::task::Id, G> = HashMap::new();
    let mut queue = jobs.into_iter();
    let mut follow_ups: Vec<J> = Vec::new();
    loop {
        while set.len() < concurrency.max(1) {
            let Some(job) = follow_ups.pop().or_else(|| queue.next()) else { break };
            if let Some((tag, task)) = start(state, job) {
                tags.insert(set.spawn(task).id(), tag);
            }
        }
        let answer = match set.join_next_with_id().await {
            None => break,
            Some(Ok((id, answer))) => {
                tags.remove(&id);
                Ok(answer)
            }
            Some(Err(e)) => {
                let tag = tags.remove(&e.id()).expect("every task is tagged");
                let message = crate::redact::redact(&format!("the task doing this stopped: {e}")).into_owned();
                Err(Lost { tag, message })
            }
        };
        if let Some(job) = finish(state, answer) {
            follow_ups.push(job);
        }
    }
}

/// Why a listing was given up.
#[derive(Debug, Clone, PartialEq)]
pub enum Unlisted {
    /// The total moved between pages, on every attempt.
    Moved,
    /// An empty page came before the total (`got` of `total` read).
    Short { total: u64, got: usize },
    /// A whole page of entries already read, at `position`: the service ignores paging.
    Repeats { position: u64 },
}

/// How many times a listing starts over before it gives up.
pub const LISTING_ATTEMPTS: usize = 3;

/// The most pages a listing asks for at once, after the first (1,000 users a page: 4 million).
const MAX_PAGES_AHEAD: u64 = 4096;

/// A page of a listing: its entries and the total it announces.
pub type Page<T> = Result<(Vec<T>, Option<u64>), HttpError>;

/// Every entry of a paged listing, de-duplicated by `key` (an entry without one is kept).
/// `page(position)` fetches the page that starts after `position` entries, giving its entries
/// and the total it announces. Starts over (at most `LISTING_ATTEMPTS` times) when the total
/// moves or a page comes back empty before it; without a total, reads until a page adds
/// nothing. `give_up` words the error when it gives up.
///
/// Once the first page has told the total and its size, the pages after it are asked for at
/// once, `concurrency` at a time, as if each were as long as the first; they are taken in
/// order, and a page at any other position (a short page moves the positions) is read then.
pub async fn list_all<T, F, Fut>(
    page: F,
    key: impl Fn(&T) -> Option<Key>,
    give_up: impl FnOnce(Unlisted) -> HttpError,
    concurrency: usize,
) -> Result<Vec<T>, HttpError>
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Page<T>>,
{
    use futures_util::StreamExt;
    let mut why = Unlisted::Moved;
    'listing: for _ in 0..LISTING_ATTEMPTS {
        let mut items: Vec<T> = Vec::new();
        let mut seen: HashSet<Key> = HashSet::new();
        let mut total: Option<u64> = None;
        let mut position = 0u64;
        let mut ahead: HashMap<u64, Page<T>> = HashMap::new();
        loop {
            let (entries, page_total) = match ahead.remove(&position) {
                Some(read) => read?,
                None => page(position).await?,
            };
            if let (Some(t), Some(p)) = (total, page_total)
                && t != p
            {
                why = Unlisted::Moved;
                continue 'listing;
            }
            total = total.or(page_total);
            let n = entries.len() as u64;
            // Read ahead only for a total within reach: a server announcing billions of entries
            // is read page by page (and found short), not planned for.
            if position == 0
                && let Some(t) = total
                && n > 0
                && t / n <= MAX_PAGES_AHEAD
            {
                let offsets: Vec<u64> = (1..).map(|i| i * n).take_while(|&o| o < t).collect();
                let pages: Vec<_> =
                    futures_util::stream::iter(offsets.clone()).map(&page).buffered(concurrency.max(1)).collect().await;
                ahead = offsets.into_iter().zip(pages).collect();
            }
            let mut fresh = 0;
            for entry in entries {
                if key(&entry).is_none_or(|k| seen.insert(k)) {
                    fresh += 1;
                    items.push(entry);
                }
            }
            position += n;
            match total {
                Some(t) if position >= t => return Ok(items),
                None if n == 0 || fresh == 0 => return Ok(items),
                None => {}
                Some(t) if n == 0 => {
                    why = Unlisted::Short { total: t, got: items.len() };
                    continue 'listing;
                }
                Some(_) if fresh == 0 => return Err(give_up(Unlisted::Repeats { position: position - n })),
                Some(_) => {}
            }
        }
    }
    Err(give_up(why))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    struct Collect(Vec<(usize, Outcome)>);

    impl ApplySink for Collect {
        fn sending(&mut self, _: usize, _: &str) -> bool {
            true
        }
        fn settled(&mut self, i: usize, o: Outcome, _: Option<&Key>) {
            self.0.push((i, o));
        }
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
    }

    #[test]
    fn a_panicking_task_is_a_failed_action_and_the_others_go_on() {
        let mut sink = Collect(Vec::new());
        let mut ledger = Ledger::new(&mut sink, 6, false);
        block_on(run(
            &mut ledger,
            2,
            0..6usize,
            |ledger, i| {
                ledger.send(i, "PUT").then(|| {
                    let task: Task<usize> = Box::pin(async move {
                        tokio::task::yield_now().await;
                        assert!(i != 2, "job {i} broke");
                        i
                    });
                    (i, task)
                })
            },
            |ledger, answer| {
                match answer {
                    Ok(i) => ledger.settle(i, Outcome::Done, None),
                    Err(lost) => ledger.lost(&[lost.tag], &lost.message),
                }
                None
            },
        ));
        ledger.finish();
        let mut seen = sink.0;
        seen.sort_by_key(|(i, _)| *i);
        assert_eq!(seen.len(), 6, "{seen:?}");
        for (i, o) in &seen {
            match o {
                Outcome::Failed { message, .. } => {
                    assert_eq!(*i, 2);
                    assert!(message.contains("panicked") && message.contains("job 2 broke"), "{message}");
                }
                o => assert_eq!((*i, o), (*i, &Outcome::Done)),
            }
        }
    }

    #[test]
    fn follow_up_jobs_run_and_no_more_than_the_concurrency_at_once() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let mut done = Vec::new();
        block_on(run(
            &mut done,
            3,
            (0..10u32).map(|i| (i, false)),
            |_, (i, second)| {
                let (now, most) = (now.clone(), most.clone());
                let task: Task<(u32, bool)> = Box::pin(async move {
                    most.fetch_max(now.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    now.fetch_sub(1, Ordering::SeqCst);
                    (i, second)
                });
                Some(((), task))
            },
            |done: &mut Vec<(u32, bool)>, answer| {
                let (i, second) = answer.ok().unwrap();
                done.push((i, second));
                (!second).then_some((i, true))
            },
        ));
        assert_eq!(done.len(), 20);
        assert_eq!(most.load(Ordering::SeqCst), 3);
    }

    /// A listing served by `serve(request number, offset)`, read `concurrency` pages at a
    /// time; gives what `list_all` made of it and the most requests that were in flight at once.
    fn listing(
        concurrency: usize,
        serve: impl Fn(usize, u64) -> (Vec<u32>, Option<u64>),
    ) -> (Result<Vec<Value>, HttpError>, usize) {
        use std::cell::Cell;
        let (requests, in_flight, most) = (Cell::new(0), Cell::new(0), Cell::new(0));
        let read = block_on(list_all(
            |offset| {
                let (keys, total) = serve(requests.get(), offset);
                requests.set(requests.get() + 1);
                let (in_flight, most) = (&in_flight, &most);
                async move {
                    in_flight.set(in_flight.get() + 1);
                    most.set(most.get().max(in_flight.get()));
                    tokio::task::yield_now().await;
                    in_flight.set(in_flight.get() - 1);
                    Ok((keys.into_iter().map(|k| serde_json::json!({ "key": k })).collect(), total))
                }
            },
            |v| v.get("key").map(|k| Key(k.to_string())),
            |why| HttpError { status: None, code: None, incident: None, message: format!("{why:?}") },
            concurrency,
        ));
        (read, most.get())
    }

    fn pages(serve: impl Fn(usize, u64) -> (Vec<u32>, Option<u64>)) -> Result<Vec<Value>, HttpError> {
        listing(4, serve).0
    }

    #[test]
    fn a_listing_starts_over_when_it_moves_and_gives_up_when_it_does_not_page() {
        let ok = pages(|_, offset| if offset == 0 { (vec![1, 2], Some(3)) } else { (vec![2, 3], Some(3)) }).unwrap();
        assert_eq!(ok.len(), 3, "de-duplicated");
        // The total moves under the second request, then stays.
        let moving = |request: usize, offset: u64| {
            let total = if request == 1 { 4 } else { 3 };
            if offset == 0 { (vec![1, 2], Some(total)) } else { (vec![3], Some(total)) }
        };
        assert_eq!(pages(moving).unwrap().len(), 3, "started over when the total moved");
        let always_moving = |request: usize, offset: u64| (vec![offset as u32], Some(5 + request as u64));
        assert_eq!(pages(always_moving).unwrap_err().message, "Moved");
        let short = |_, offset| if offset == 0 { (vec![1], Some(3)) } else { (vec![], Some(3)) };
        assert_eq!(pages(short).unwrap_err().message, "Short { total: 3, got: 1 }");
        let repeats = |_, _| (vec![1, 2], Some(5));
        assert_eq!(pages(repeats).unwrap_err().message, "Repeats { position: 2 }");
        let untotalled = |_, offset| match offset {
            0 => (vec![1, 2], None),
            2 => (vec![3], None),
            _ => (vec![], None),
        };
        assert_eq!(pages(untotalled).unwrap().len(), 3, "read until a page adds nothing");
        // A page shorter than the first moves the positions: the rest is read where it is.
        let uneven = |_, offset| match offset {
            0 => (vec![1, 2], Some(5)),
            2 => (vec![3], Some(5)),
            3 => (vec![4, 5], Some(5)),
            _ => (vec![9, 9], Some(5)),
        };
        let keys: Vec<String> = pages(uneven).unwrap().iter().map(|v| v["key"].to_string()).collect();
        assert_eq!(keys, ["1", "2", "3", "4", "5"]);
    }

    #[test]
    fn an_absurd_total_is_read_page_by_page_not_ahead() {
        use std::cell::Cell;
        let asked = Cell::new(0);
        let serve = |_, offset| {
            asked.set(asked.get() + 1);
            if offset == 0 { (vec![1], Some(1_000_000_000_000)) } else { (vec![], Some(1_000_000_000_000)) }
        };
        let (read, most) = listing(16, serve);
        assert_eq!(read.unwrap_err().message, "Short { total: 1000000000000, got: 1 }");
        assert_eq!((asked.get(), most), (2 * LISTING_ATTEMPTS, 1), "two pages an attempt, one at a time");
    }

    #[test]
    fn the_pages_after_the_first_are_read_at_once_within_the_concurrency() {
        let serve = |_, offset: u64| ((offset as u32..(offset as u32 + 10).min(95)).collect(), Some(95));
        for concurrency in [1, 3, 16] {
            let (read, most) = listing(concurrency, serve);
            assert_eq!(read.unwrap().len(), 95);
            // nine pages after the first
            assert_eq!(most, concurrency.min(9), "concurrency {concurrency}");
        }
    }
}
