//! How events travel from the pipeline thread to the routes: in shared chunks, which the
//! pipeline thread takes back and reuses once every route is done with them.
//!
//! Handing each event over in its own allocation, and freeing it on whichever route thread
//! finished last, made the allocator the pipeline's bottleneck (cross-thread frees contend
//! for the allocating thread's arena). With chunks, the hand-off costs one small allocation
//! per chunk, and events are freed on the thread that built them.

use std::collections::VecDeque;
use std::sync::Arc;

use siem_event::SecurityEvent;

/// Events per chunk: the pipeline thread hands its output over whole once it holds this many.
pub(crate) const CHUNK_EVENTS: usize = 256;

/// Events the pool may track beyond twice what routes held at its last look for finished
/// chunks before it looks again. Looking then costs O(1) per event handed over, and finished
/// chunks never pile up behind one a stuck route still holds: the events the pool keeps alive
/// stay under twice those the routes hold, plus this slack.
pub(crate) const RECLAIM_SLACK_EVENTS: usize = 16 * CHUNK_EVENTS;

/// A chunk of events shared by every route that takes part of it.
pub(crate) type Chunk = Arc<Vec<SecurityEvent>>;

/// What one route receives: a chunk and the events of it that the route's filter kept.
pub(crate) struct Share {
    chunk: Chunk,
    /// Indexes into the chunk, in order; `None` when the route takes every event.
    selected: Option<Vec<u32>>,
}

impl Share {
    /// The route takes `chunk` whole.
    pub fn whole(chunk: Chunk) -> Share {
        Share {
            chunk,
            selected: None,
        }
    }

    /// The route takes the events at `selected` (in order, each below the chunk's length).
    pub fn selected(chunk: Chunk, selected: Vec<u32>) -> Share {
        Share {
            chunk,
            selected: Some(selected),
        }
    }

    /// Number of events the route takes.
    pub fn len(&self) -> usize {
        self.selected.as_ref().map_or(self.chunk.len(), Vec::len)
    }

    /// True when the share holds fewer than half of its chunk's events: it would keep more
    /// memory alive than its events need.
    fn is_sparse(&self) -> bool {
        self.len() * 2 < self.chunk.len()
    }

    /// Takes the first `n` events off as a share of their own; this share keeps the rest.
    pub fn split_front(&mut self, n: usize) -> Share {
        let all = self
            .selected
            .take()
            .unwrap_or_else(|| (0..self.chunk.len() as u32).collect());
        let n = n.min(all.len());
        self.selected = Some(all[n..].to_vec());
        Share::selected(Arc::clone(&self.chunk), all[..n].to_vec())
    }

    /// Takes off, in order, the events `keep` accepts (it sees each event once, in order) as a
    /// share of their own; this share keeps the rest, in order.
    pub fn split_where(&mut self, mut keep: impl FnMut(&SecurityEvent) -> bool) -> Share {
        let all = self
            .selected
            .take()
            .unwrap_or_else(|| (0..self.chunk.len() as u32).collect());
        let (kept, rest): (Vec<u32>, Vec<u32>) = all
            .into_iter()
            .partition(|&i| keep(&self.chunk[i as usize]));
        self.selected = Some(rest);
        Share::selected(Arc::clone(&self.chunk), kept)
    }

    /// Calls `f` with each event the route takes, in order.
    pub fn for_each(&self, mut f: impl FnMut(&SecurityEvent)) {
        match &self.selected {
            None => self.chunk.iter().for_each(f),
            Some(s) => s.iter().for_each(|&i| f(&self.chunk[i as usize])),
        }
    }
}

/// The pipeline thread's side of the hand-off: it builds events into a buffer, hands the buffer
/// over as a chunk, remembers the chunks it handed out, and takes each back once no route holds
/// it any more — dropping its events there and then, and reusing full-size buffers.
#[derive(Default)]
pub(crate) struct ChunkPool {
    handed_out: VecDeque<Chunk>,
    /// Events in `handed_out`.
    tracked_events: usize,
    /// Events in `handed_out` right after the last full look for finished chunks.
    held_at_last_look: usize,
}

impl ChunkPool {
    /// Turns `out` (the pipeline thread's output buffer) into a chunk for the routes, leaving
    /// `out` empty with room for [`CHUNK_EVENTS`] events. A nearly full buffer is handed over
    /// as it is; a small output is copied into an exact-size chunk, so that a chunk never holds
    /// much more memory than its events need.
    pub fn hand_over(&mut self, out: &mut Vec<SecurityEvent>) -> Chunk {
        let chunk = if out.len() >= CHUNK_EVENTS / 2 {
            let buffer = self.take();
            Arc::new(std::mem::replace(out, buffer))
        } else {
            let mut exact = Vec::with_capacity(out.len());
            exact.append(out);
            Arc::new(exact)
        };
        self.track(&chunk);
        chunk
    }

    /// Makes a sparse share (fewer than half of its chunk's events) hold copies of its events
    /// in an exact-size chunk of its own, so that a route never keeps more than twice the
    /// memory of the events it holds; other shares are returned as they are.
    pub fn compact(&mut self, share: Share) -> Share {
        if !share.is_sparse() {
            return share;
        }
        let mut events = Vec::with_capacity(share.len());
        share.for_each(|e| events.push(e.clone()));
        let chunk = Arc::new(events);
        self.track(&chunk);
        Share::whole(chunk)
    }

    /// Remembers a chunk handed out, so its events are freed here once no route holds it.
    fn track(&mut self, chunk: &Chunk) {
        if self.tracked_events >= 2 * self.held_at_last_look + RECLAIM_SLACK_EVENTS {
            self.release_finished();
        }
        self.tracked_events += chunk.len();
        self.handed_out.push_back(Arc::clone(chunk));
    }

    /// An empty buffer with room for a chunk: the oldest handed-out full-size chunk when every
    /// route is done with it, else a new one. Finished small chunks met on the way are freed.
    fn take(&mut self) -> Vec<SecurityEvent> {
        while let Some(front) = self.handed_out.pop_front() {
            let events = front.len();
            match Arc::try_unwrap(front) {
                Ok(mut buffer) if buffer.capacity() >= CHUNK_EVENTS => {
                    self.tracked_events -= events;
                    buffer.clear();
                    return buffer;
                }
                Ok(small) => {
                    self.tracked_events -= events;
                    drop(small);
                }
                Err(still_shared) => {
                    self.handed_out.push_front(still_shared);
                    break;
                }
            }
        }
        Vec::with_capacity(CHUNK_EVENTS)
    }

    /// Frees the events of every chunk the routes are done with, and forgets those chunks
    /// (called when the pipeline goes idle, so that delivered events do not linger).
    pub fn release_finished(&mut self) {
        self.handed_out.retain(|c| Arc::strong_count(c) > 1);
        self.tracked_events = self.handed_out.iter().map(|c| c.len()).sum();
        self.held_at_last_look = self.tracked_events;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use siem_event::EventType;

    fn chunk(n: usize) -> Chunk {
        Arc::new(
            (0..n)
                .map(|i| SecurityEvent::new(EventType::parse("auth.failure"), i.to_string()))
                .collect(),
        )
    }

    fn messages(share: &Share) -> Vec<String> {
        let mut out = Vec::new();
        share.for_each(|e| out.push(e.message.clone()));
        out
    }

    #[test]
    fn a_share_yields_its_selection_in_order() {
        let c = chunk(4);
        assert_eq!(
            messages(&Share::whole(Arc::clone(&c))),
            ["0", "1", "2", "3"]
        );
        let s = Share::selected(Arc::clone(&c), vec![1, 3]);
        assert_eq!((s.len(), messages(&s)), (2, vec!["1".into(), "3".into()]));
    }

    #[test]
    fn splitting_a_share_keeps_every_event_once_in_order() {
        let c = chunk(5);
        let mut rest = Share::whole(Arc::clone(&c));
        let front = rest.split_front(2);
        assert_eq!(
            (messages(&front), messages(&rest)),
            (
                vec!["0".into(), "1".into()],
                vec!["2".into(), "3".into(), "4".into()]
            )
        );
        let all = rest.split_front(9);
        assert_eq!((all.len(), rest.len()), (3, 0));
        let mut some = Share::selected(c, vec![0, 2, 4]);
        let first = some.split_front(1);
        assert_eq!(
            (messages(&first), messages(&some)),
            (vec!["0".into()], vec!["2".into(), "4".into()])
        );
    }

    fn full_buffer() -> Vec<SecurityEvent> {
        let mut v = Vec::with_capacity(CHUNK_EVENTS);
        v.extend(Arc::try_unwrap(chunk(CHUNK_EVENTS)).unwrap());
        v
    }

    #[test]
    fn a_full_buffer_is_handed_over_as_it_is_and_reused_once_no_route_holds_it() {
        let mut pool = ChunkPool::default();
        let mut out = full_buffer();
        let ptr = out.as_ptr();
        let first = pool.hand_over(&mut out);
        assert_eq!((first.as_ptr(), first.len()), (ptr, CHUNK_EVENTS));
        assert!(out.is_empty() && out.capacity() >= CHUNK_EVENTS);

        out.extend(Arc::try_unwrap(chunk(CHUNK_EVENTS)).unwrap());
        let second = pool.hand_over(&mut out);
        assert_ne!(out.as_ptr(), ptr, "the first chunk is still held");
        drop(first);
        out.extend(Arc::try_unwrap(chunk(CHUNK_EVENTS)).unwrap());
        let third = pool.hand_over(&mut out);
        assert_eq!((out.as_ptr(), out.len()), (ptr, 0), "reused, emptied");
        drop((second, third));
    }

    #[test]
    fn a_small_output_becomes_an_exact_size_chunk() {
        let mut pool = ChunkPool::default();
        let mut out = Vec::with_capacity(CHUNK_EVENTS);
        out.push(SecurityEvent::new(EventType::parse("auth.failure"), "one"));
        let c = pool.hand_over(&mut out);
        assert_eq!((c.len(), c.capacity()), (1, 1));
        assert!(out.is_empty() && out.capacity() >= CHUNK_EVENTS);
    }

    #[test]
    fn idle_release_frees_finished_chunks_and_keeps_held_ones() {
        let mut pool = ChunkPool::default();
        let a = pool.hand_over(&mut vec![SecurityEvent::new(EventType::parse("x"), "a")]);
        let b = pool.hand_over(&mut vec![SecurityEvent::new(EventType::parse("x"), "b")]);
        let weak = Arc::downgrade(&a);
        drop(a);
        pool.release_finished();
        assert!(weak.upgrade().is_none(), "finished chunk freed");
        assert_eq!(pool.handed_out.len(), 1);
        drop(b);
    }

    #[test]
    fn finished_chunks_are_freed_even_behind_one_a_stuck_route_holds() {
        let mut pool = ChunkPool::default();
        let stuck = pool.hand_over(&mut vec![SecurityEvent::new(EventType::parse("x"), "")]);
        for _ in 0..200 {
            let mut out = full_buffer();
            drop(pool.hand_over(&mut out));
        }
        assert!(
            pool.tracked_events <= 3 + RECLAIM_SLACK_EVENTS + CHUNK_EVENTS,
            "finished chunks pile up behind the held one: {} events tracked",
            pool.tracked_events
        );
        assert_eq!(
            Arc::strong_count(&stuck),
            2,
            "the held chunk is still tracked"
        );
    }

    #[test]
    fn a_sparse_share_is_compacted_into_a_chunk_of_its_own() {
        let mut pool = ChunkPool::default();
        let c = chunk(8);
        let dense = pool.compact(Share::selected(Arc::clone(&c), vec![0, 1, 2, 3]));
        assert!(
            Arc::ptr_eq(&dense.chunk, &c),
            "half a chunk is kept as it is"
        );
        let sparse = pool.compact(Share::selected(Arc::clone(&c), vec![2, 5, 7]));
        assert!(!Arc::ptr_eq(&sparse.chunk, &c));
        assert_eq!(
            (messages(&sparse), sparse.chunk.capacity()),
            (vec!["2".into(), "5".into(), "7".into()], 3)
        );
        drop((dense, sparse));
    }
}
