//! Address allocation within one subnet: pools, host reservations, a client's
//! previous address, short holds on offered addresses, declined addresses in
//! quarantine, all without scanning the pool.
//!
//! HOT PATH: the free addresses of the pools are a two-level bitmap (one bit
//! per address, one summary bit per 64-address word that has a free one), so
//! finding a free address in a nearly full /16 looks at a few words, not at
//! 65,536 addresses. Per-client lookups are hash maps.

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;

/// Who a client is: its client identifier when it sent one (and the subnet
/// matches on it, Kea's `match-client-id`), else its hardware address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// Option 61.
    ClientId(Vec<u8>),
    /// chaddr (hardware type and address).
    HwAddr(Vec<u8>),
}

/// Why an address cannot be given to a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AllocError {
    /// Not in this subnet's pools and not reserved for the client.
    #[error("{0} is not in a pool of this subnet")]
    OutOfPool(Ipv4Addr),
    /// Leased, held for an offer to, or reserved for another client.
    #[error("{0} belongs to another client")]
    Taken(Ipv4Addr),
    /// Declined by a client and still in quarantine.
    #[error("{0} is in quarantine after a decline")]
    Quarantined(Ipv4Addr),
    /// Every address of the pools is in use.
    #[error("the pools are exhausted")]
    Exhausted,
}

/// What holds an address.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Holder {
    /// Offered to this client until this time (Unix seconds).
    Offer(ClientKey, u64),
    /// Leased to this client until this time.
    Lease(ClientKey, u64),
    /// Declined; unusable until this time.
    Declined(u64),
}

/// The free addresses of a range: a bit per address, a summary bit per word.
#[derive(Debug, Clone)]
struct FreeMap {
    /// The pool's position in the subnet's configuration.
    index: usize,
    first: u32,
    len: u32,
    words: Vec<u64>,
    /// Bit w set: `words[w]` has at least one free address.
    summary: Vec<u64>,
    free: u32,
}

impl FreeMap {
    /// Every address of `first..=last` free.
    fn new(first: u32, last: u32, index: usize) -> FreeMap {
        let len = last - first + 1;
        let word_count = (len as usize).div_ceil(64);
        let mut words = vec![u64::MAX; word_count];
        if len % 64 != 0 {
            if let Some(lastw) = words.last_mut() {
                *lastw = (1u64 << (len % 64)) - 1;
            }
        }
        let mut summary = vec![0u64; word_count.div_ceil(64)];
        for w in 0..word_count {
            summary[w / 64] |= 1 << (w % 64);
        }
        FreeMap {
            index,
            first,
            len,
            words,
            summary,
            free: len,
        }
    }

    fn contains(&self, addr: u32) -> bool {
        addr >= self.first && addr - self.first < self.len
    }

    fn set_free(&mut self, addr: u32, free: bool) {
        let i = (addr - self.first) as usize;
        let (w, bit) = (i / 64, 1u64 << (i % 64));
        let was = self.words[w] & bit != 0;
        if was == free {
            return;
        }
        if free {
            self.words[w] |= bit;
            self.free += 1;
            self.summary[w / 64] |= 1 << (w % 64);
        } else {
            self.words[w] &= !bit;
            self.free -= 1;
            if self.words[w] == 0 {
                self.summary[w / 64] &= !(1 << (w % 64));
            }
        }
    }

    /// The first free address at or after `from` (wrapping once), if any.
    fn next_free(&self, from: u32) -> Option<u32> {
        if self.free == 0 {
            return None;
        }
        let start = from.saturating_sub(self.first).min(self.len - 1) as usize;
        self.scan(start, self.words.len())
            .or_else(|| self.scan(0, start / 64 + 1))
            .map(|i| self.first + i as u32)
    }

    /// The first free index at or after `start` in words `..end_word`.
    fn scan(&self, start: usize, end_word: usize) -> Option<usize> {
        let first_word = start / 64;
        // The partial first word.
        let masked = self.words[first_word] & (u64::MAX << (start % 64));
        if masked != 0 {
            return Some(first_word * 64 + masked.trailing_zeros() as usize);
        }
        // Then whole words, found through the summary.
        let mut w = first_word + 1;
        while w < end_word.min(self.words.len()) {
            let s = self.summary[w / 64] & (u64::MAX << (w % 64));
            if s == 0 {
                w = (w / 64 + 1) * 64;
                continue;
            }
            let found = (w / 64) * 64 + s.trailing_zeros() as usize;
            if found >= end_word.min(self.words.len()) {
                return None;
            }
            return Some(found * 64 + self.words[found].trailing_zeros() as usize);
        }
        None
    }
}

/// What one client may take in a subnet: the pools its classes open to it
/// (by pool index in the subnet's configuration) and its own reserved
/// address there, if it has one.
#[derive(Clone, Copy)]
pub struct Access<'a> {
    /// Whether the client may use pool `index` (Kea's pool `client-class`).
    pub pool_allowed: &'a dyn Fn(usize) -> bool,
    /// The address the client's host reservation names in this subnet.
    pub reservation: Option<Ipv4Addr>,
}

impl Access<'_> {
    /// Every pool open, no reservation.
    pub const OPEN: Access<'static> = Access {
        pool_allowed: &|_| true,
        reservation: None,
    };
}

impl std::fmt::Debug for Access<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("reservation", &self.reservation)
            .finish_non_exhaustive()
    }
}

/// The allocation state of one subnet.
#[derive(Debug, Clone)]
pub struct SubnetAllocator {
    pools: Vec<FreeMap>,
    holders: HashMap<u32, Holder>,
    by_client: HashMap<ClientKey, u32>,
    /// Addresses some host reservation names: never handed out from the
    /// pools; who may have one is the server's business ([`Access`]).
    reserved: HashSet<u32>,
    /// Where the next search for a free address starts (spreads allocations).
    cursor: u32,
    /// Holders that are leases and quarantines, kept as `holders` changes so
    /// the metrics never walk the pool (a full /16 fails every DISCOVER).
    leased: u32,
    declined: u32,
}

impl SubnetAllocator {
    /// A subnet with these pools (inclusive ranges, in configuration order)
    /// and reserved addresses (a reserved address inside a pool is never
    /// handed to a client that does not hold the reservation).
    pub fn new(
        pools: &[(Ipv4Addr, Ipv4Addr)],
        reserved: impl IntoIterator<Item = Ipv4Addr>,
    ) -> SubnetAllocator {
        let pools: Vec<FreeMap> = pools
            .iter()
            .enumerate()
            .filter(|(_, (a, b))| u32::from(*a) <= u32::from(*b))
            .map(|(index, (a, b))| FreeMap::new(u32::from(*a), u32::from(*b), index))
            .collect();
        let cursor = pools.first().map_or(0, |p| p.first);
        let mut allocator = SubnetAllocator {
            pools,
            holders: HashMap::new(),
            by_client: HashMap::new(),
            reserved: HashSet::new(),
            cursor,
            leased: 0,
            declined: 0,
        };
        for addr in reserved {
            let a = u32::from(addr);
            allocator.mark(a, false);
            allocator.reserved.insert(a);
        }
        allocator
    }

    fn pool_of(&mut self, addr: u32) -> Option<&mut FreeMap> {
        self.pools.iter_mut().find(|p| p.contains(addr))
    }

    fn mark(&mut self, addr: u32, free: bool) {
        if let Some(pool) = self.pool_of(addr) {
            pool.set_free(addr, free);
        }
    }

    /// Free addresses left in the pools.
    pub fn free(&self) -> u32 {
        self.pools.iter().map(|p| p.free).sum()
    }

    /// Whether `addr` lies in a pool `access` opens (Kea's inAllowedPool).
    pub fn in_allowed_pool(&self, addr: Ipv4Addr, access: &Access<'_>) -> bool {
        let a = u32::from(addr);
        self.pools
            .iter()
            .any(|p| p.contains(a) && (access.pool_allowed)(p.index))
    }

    /// Whether some host reservation names `addr`.
    pub fn is_reserved(&self, addr: Ipv4Addr) -> bool {
        self.reserved.contains(&u32::from(addr))
    }

    /// Whether `client` may have `addr` at `now` (free, its own, or its
    /// reservation, in a pool it may use).
    pub fn may_take(
        &self,
        client: &ClientKey,
        addr: Ipv4Addr,
        now: u64,
        access: &Access<'_>,
    ) -> bool {
        self.usable_by(u32::from(addr), client, now, access).is_ok()
    }

    /// The address offered or leased to `client`, if any.
    pub fn current(&self, client: &ClientKey) -> Option<Ipv4Addr> {
        self.by_client.get(client).map(|&a| Ipv4Addr::from(a))
    }

    /// Holds `addr` for `client` until `hold_until` when it may have it at
    /// `now` (its lease stays a lease; a longer hold stays).
    pub fn offer_addr(
        &mut self,
        client: &ClientKey,
        addr: Ipv4Addr,
        now: u64,
        hold_until: u64,
        access: &Access<'_>,
    ) -> Result<(), AllocError> {
        let a = u32::from(addr);
        self.usable_by(a, client, now, access)?;
        match self.holders.get(&a) {
            Some(Holder::Lease(owner, until)) if owner == client && *until > now => {}
            Some(Holder::Offer(owner, until)) if owner == client => {
                let until = (*until).max(hold_until);
                self.put_holder(a, Holder::Offer(client.clone(), until));
            }
            _ => self.take_offer(a, client, hold_until),
        }
        Ok(())
    }

    /// Holds the next free address of the pools `access` opens for `client`
    /// until `hold_until`.
    pub fn offer_free(
        &mut self,
        client: &ClientKey,
        hold_until: u64,
        access: &Access<'_>,
    ) -> Result<Ipv4Addr, AllocError> {
        let addr = self.next_free(access)?;
        self.take_offer(addr, client, hold_until);
        Ok(Ipv4Addr::from(addr))
    }

    /// Holds `addr` as an offer, dropping an earlier offer of the client's.
    fn take_offer(&mut self, addr: u32, client: &ClientKey, hold_until: u64) {
        if let Some(&old) = self.by_client.get(client) {
            if old != addr && matches!(self.holders.get(&old), Some(Holder::Offer(..))) {
                self.free_addr(old);
            }
        }
        self.take(addr, Holder::Offer(client.clone(), hold_until), client);
    }

    /// Leases `addr` to `client` until `expire` (a REQUEST being ACKed): the
    /// address must be its reservation, held for it, its lease, or free in
    /// a pool it may use.
    pub fn commit(
        &mut self,
        client: &ClientKey,
        addr: Ipv4Addr,
        now: u64,
        expire: u64,
        access: &Access<'_>,
    ) -> Result<(), AllocError> {
        let a = u32::from(addr);
        self.usable_by(a, client, now, access)?;
        if let Some(&previous) = self.by_client.get(client) {
            if previous != a {
                self.free_addr(previous);
            }
        }
        self.take(a, Holder::Lease(client.clone(), expire), client);
        Ok(())
    }

    /// The client gives `addr` back (RELEASE); ignored when it is not its.
    pub fn release(&mut self, client: &ClientKey, addr: Ipv4Addr) -> bool {
        let a = u32::from(addr);
        if self.by_client.get(client) != Some(&a) {
            return false;
        }
        self.free_addr(a);
        true
    }

    /// `addr` is in use by someone else (DECLINE): quarantined until `until`.
    pub fn decline(&mut self, client: &ClientKey, addr: Ipv4Addr, until: u64) -> bool {
        let a = u32::from(addr);
        if self.by_client.get(client) != Some(&a) {
            return false;
        }
        self.by_client.remove(client);
        self.put_holder(a, Holder::Declined(until));
        true
    }

    /// The address leased (not merely offered) to `client`, if any.
    pub fn lease_of(&self, client: &ClientKey) -> Option<Ipv4Addr> {
        let addr = *self.by_client.get(client)?;
        match self.holders.get(&addr) {
            Some(Holder::Lease(..)) => Some(Ipv4Addr::from(addr)),
            _ => None,
        }
    }

    /// Drops the offer held for `client` (it chose another server); a lease
    /// stays. Returns whether an offer was dropped.
    pub fn withdraw_offer(&mut self, client: &ClientKey) -> bool {
        let Some(&addr) = self.by_client.get(client) else {
            return false;
        };
        if matches!(self.holders.get(&addr), Some(Holder::Offer(..))) {
            self.free_addr(addr);
            return true;
        }
        false
    }

    /// Puts `addr` in quarantine until `until` whoever held it (a declined
    /// lease read back from the lease file).
    pub fn quarantine(&mut self, addr: Ipv4Addr, until: u64) {
        let a = u32::from(addr);
        if let Some(Holder::Offer(client, _) | Holder::Lease(client, _)) = self.holders.get(&a) {
            let client = client.clone();
            self.by_client.remove(&client);
        }
        self.mark(a, false);
        self.put_holder(a, Holder::Declined(until));
    }

    /// Frees `addr` of whatever holds it (an operator deleted its lease, or
    /// a lease is replaced by one written by an operator or the HA
    /// partner). Returns whether anything held it.
    pub fn vacate(&mut self, addr: Ipv4Addr) -> bool {
        let a = u32::from(addr);
        let held = self.holders.contains_key(&a);
        if held {
            self.free_addr(a);
        }
        held
    }

    /// Addresses leased and addresses declined, for the metrics.
    pub fn counts(&self) -> (u32, u32) {
        (self.leased, self.declined)
    }

    /// Addresses in the pools (the subnet's `total-addresses`).
    pub fn total(&self) -> u64 {
        self.pools.iter().map(|p| u64::from(p.len)).sum()
    }

    /// Frees offers, leases and quarantines that ran out by `now`; returns the
    /// expired leases' addresses (to reclaim in the lease file).
    pub fn expire(&mut self, now: u64) -> Vec<Ipv4Addr> {
        let done: Vec<(u32, bool)> = self
            .holders
            .iter()
            .filter_map(|(&a, h)| match h {
                Holder::Offer(_, until) | Holder::Declined(until) if *until <= now => {
                    Some((a, false))
                }
                Holder::Lease(_, until) if *until <= now => Some((a, true)),
                _ => None,
            })
            .collect();
        let mut reclaimed = Vec::new();
        for (a, was_lease) in done {
            self.free_addr(a);
            if was_lease {
                reclaimed.push(Ipv4Addr::from(a));
            }
        }
        reclaimed
    }

    /// Whether `client` may have `addr` at `now`.
    fn usable_by(
        &self,
        addr: u32,
        client: &ClientKey,
        now: u64,
        access: &Access<'_>,
    ) -> Result<(), AllocError> {
        let ip = Ipv4Addr::from(addr);
        let own_reservation = access.reservation == Some(ip);
        if self.reserved.contains(&addr) && !own_reservation {
            return Err(AllocError::Taken(ip));
        }
        if !own_reservation && !self.in_allowed_pool(ip, access) {
            return Err(AllocError::OutOfPool(ip));
        }
        match self.holders.get(&addr) {
            None => Ok(()),
            Some(Holder::Declined(until)) if *until > now => Err(AllocError::Quarantined(ip)),
            Some(Holder::Declined(_)) => Ok(()),
            Some(Holder::Offer(owner, until) | Holder::Lease(owner, until)) => {
                if owner == client || *until <= now {
                    Ok(())
                } else {
                    Err(AllocError::Taken(ip))
                }
            }
        }
    }

    /// The next free address of the pools `access` opens, from the cursor
    /// (addresses whose holder ran out come back through
    /// [`SubnetAllocator::expire`]).
    fn next_free(&mut self, access: &Access<'_>) -> Result<u32, AllocError> {
        let cursor = self.cursor;
        let count = self.pools.len();
        let start = self
            .pools
            .iter()
            .position(|p| p.contains(cursor))
            .unwrap_or(0);
        for k in 0..count {
            let Some(pool) = self.pools.get((start + k) % count) else {
                continue;
            };
            if !(access.pool_allowed)(pool.index) {
                continue;
            }
            let from = if k == 0 { cursor } else { pool.first };
            if let Some(addr) = pool.next_free(from) {
                self.cursor = addr.wrapping_add(1);
                return Ok(addr);
            }
        }
        Err(AllocError::Exhausted)
    }

    fn take(&mut self, addr: u32, holder: Holder, client: &ClientKey) {
        if let Some(Holder::Offer(other, _) | Holder::Lease(other, _)) = self.holders.get(&addr) {
            if other != client {
                let other = other.clone();
                self.by_client.remove(&other);
            }
        }
        self.mark(addr, false);
        self.put_holder(addr, holder);
        self.by_client.insert(client.clone(), addr);
    }

    /// Sets who holds `addr`, keeping the lease and quarantine counts.
    fn put_holder(&mut self, addr: u32, holder: Holder) {
        self.count(&holder, true);
        if let Some(old) = self.holders.insert(addr, holder) {
            self.count(&old, false);
        }
    }

    /// Frees `addr` of its holder, keeping the lease and quarantine counts.
    fn remove_holder(&mut self, addr: u32) -> Option<Holder> {
        let old = self.holders.remove(&addr)?;
        self.count(&old, false);
        Some(old)
    }

    fn count(&mut self, holder: &Holder, added: bool) {
        let counter = match holder {
            Holder::Lease(..) => &mut self.leased,
            Holder::Declined(_) => &mut self.declined,
            Holder::Offer(..) => return,
        };
        *counter = if added {
            counter.saturating_add(1)
        } else {
            counter.saturating_sub(1)
        };
    }

    fn free_addr(&mut self, addr: u32) {
        if let Some(Holder::Offer(client, _) | Holder::Lease(client, _)) = self.remove_holder(addr)
        {
            if self.by_client.get(&client) == Some(&addr) {
                self.by_client.remove(&client);
            }
        }
        if !self.reserved.contains(&addr) {
            self.mark(addr, true);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    /// The old one-call offer: the client's current address, else the one
    /// it asks for, else the next free one.
    fn offer(
        s: &mut SubnetAllocator,
        client: &ClientKey,
        requested: Option<Ipv4Addr>,
        now: u64,
        hold: u64,
    ) -> Result<Ipv4Addr, AllocError> {
        let open = Access::OPEN;
        for addr in [s.current(client), requested].into_iter().flatten() {
            if s.offer_addr(client, addr, now, hold, &open).is_ok() {
                return Ok(addr);
            }
        }
        s.offer_free(client, hold, &open)
    }

    fn mac(n: u32) -> ClientKey {
        ClientKey::HwAddr(n.to_be_bytes().to_vec())
    }

    /// The lease and quarantine counts, by walking every holder.
    fn recount(s: &SubnetAllocator) -> (u32, u32) {
        let leased = s
            .holders
            .values()
            .filter(|h| matches!(h, Holder::Lease(..)));
        let declined = s
            .holders
            .values()
            .filter(|h| matches!(h, Holder::Declined(_)));
        (leased.count() as u32, declined.count() as u32)
    }

    #[test]
    fn kept_counts_match_a_walk_of_the_holders_through_every_change() {
        let mut s = SubnetAllocator::new(&[(ip("10.0.0.10"), ip("10.0.0.40"))], [ip("10.0.0.20")]);
        let mut state = 0x2545_f491_u32;
        for step in 0..4000u64 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let client = mac(state % 40 + 90);
            let addr = Ipv4Addr::from(u32::from(ip("10.0.0.10")) + (state >> 8) % 31);
            let now = step / 10;
            match (state >> 4) % 7 {
                0 | 1 => {
                    let _ = offer(&mut s, &client, Some(addr), now, now + 5);
                }
                2 => {
                    if let Ok(offered) = offer(&mut s, &client, None, now, now + 5) {
                        let _ = s.commit(&client, offered, now, now + 30, &Access::OPEN);
                    }
                }
                3 => {
                    s.release(&client, addr);
                }
                4 => {
                    s.decline(&client, addr, now + 20);
                }
                5 => s.quarantine(addr, now + 20),
                _ => {
                    s.expire(now);
                }
            }
            assert_eq!(s.counts(), recount(&s), "after step {step}");
        }
        assert!(
            s.counts().0 > 0 || s.counts().1 > 0,
            "the walk did something"
        );
    }

    #[test]
    fn free_map_finds_the_next_free_address_and_wraps() {
        let mut map = FreeMap::new(100, 100 + 199, 0);
        for a in 100..=299 {
            map.set_free(a, false);
        }
        assert_eq!(map.next_free(100), None);
        map.set_free(150, true);
        map.set_free(290, true);
        assert_eq!(map.next_free(100), Some(150));
        assert_eq!(map.next_free(151), Some(290));
        assert_eq!(map.next_free(291), Some(150), "wraps to the start");
        assert_eq!(map.free, 2);
    }

    #[test]
    fn offers_hold_addresses_and_clients_keep_theirs() {
        let mut s = SubnetAllocator::new(&[(ip("10.0.0.10"), ip("10.0.0.12"))], []);
        let a = offer(&mut s, &mac(1), None, 0, 30).unwrap();
        let b = offer(&mut s, &mac(2), None, 0, 30).unwrap();
        assert_ne!(a, b, "an offered address is held");
        assert_eq!(
            offer(&mut s, &mac(1), None, 1, 31).unwrap(),
            a,
            "same client, same offer"
        );
        s.commit(&mac(1), a, 2, 3600, &Access::OPEN).unwrap();
        assert_eq!(
            s.commit(&mac(3), a, 2, 3600, &Access::OPEN),
            Err(AllocError::Taken(a))
        );
        // While its lease lasts a client is offered its own address, whatever
        // it asks for.
        assert_eq!(offer(&mut s, &mac(1), Some(b), 10, 40).unwrap(), a);
        let c = offer(&mut s, &mac(3), None, 10, 40).unwrap();
        assert_eq!(s.free(), 0);
        assert_eq!(
            offer(&mut s, &mac(4), None, 10, 40),
            Err(AllocError::Exhausted)
        );
        // Offers run out; a declined address stays out until its probation ends.
        assert!(s.decline(&mac(3), c, 1000));
        s.expire(100);
        assert_eq!(offer(&mut s, &mac(4), None, 100, 130).unwrap(), b);
        assert_eq!(
            s.commit(&mac(5), c, 100, 200, &Access::OPEN),
            Err(AllocError::Quarantined(c))
        );
        assert_eq!(
            s.expire(5000),
            vec![a],
            "the lease is reclaimed, offers just end"
        );
        let d = offer(&mut s, &mac(4), None, 5000, 5030).unwrap();
        s.commit(&mac(4), d, 5000, 8600, &Access::OPEN).unwrap();
        let free = s.free();
        assert!(!s.release(&mac(5), d), "only the holder releases");
        assert!(s.release(&mac(4), d));
        assert_eq!(s.free(), free + 1);
    }

    #[test]
    fn reserved_addresses_go_only_to_their_client() {
        let r = ip("10.0.0.11");
        let mut s = SubnetAllocator::new(&[(ip("10.0.0.10"), ip("10.0.0.12"))], [r]);
        let mut given = Vec::new();
        for n in 1..=2 {
            given.push(offer(&mut s, &mac(n), None, 0, 30).unwrap());
        }
        assert!(!given.contains(&r));
        assert_eq!(
            offer(&mut s, &mac(3), Some(r), 0, 30),
            Err(AllocError::Exhausted)
        );
        assert_eq!(
            s.commit(&mac(3), r, 0, 30, &Access::OPEN),
            Err(AllocError::Taken(r))
        );
        let holder = Access {
            pool_allowed: &|_| true,
            reservation: Some(r),
        };
        s.offer_addr(&mac(9), r, 0, 30, &holder).unwrap();
        s.commit(&mac(9), r, 0, 3600, &holder).unwrap();
        s.release(&mac(9), r);
        assert_eq!(
            offer(&mut s, &mac(4), None, 0, 30),
            Err(AllocError::Exhausted),
            "still reserved"
        );
    }

    #[test]
    fn pools_a_client_may_not_use_give_it_nothing() {
        let mut s = SubnetAllocator::new(
            &[
                (ip("10.0.0.10"), ip("10.0.0.10")),
                (ip("10.0.0.20"), ip("10.0.0.21")),
            ],
            [],
        );
        let second_only = Access {
            pool_allowed: &|index| index == 1,
            reservation: None,
        };
        assert_eq!(
            s.offer_free(&mac(1), 30, &second_only).unwrap(),
            ip("10.0.0.20")
        );
        assert_eq!(
            s.offer_addr(&mac(2), ip("10.0.0.10"), 0, 30, &second_only),
            Err(AllocError::OutOfPool(ip("10.0.0.10")))
        );
        assert!(!s.in_allowed_pool(ip("10.0.0.10"), &second_only));
        assert_eq!(
            s.offer_free(&mac(2), 30, &second_only).unwrap(),
            ip("10.0.0.21")
        );
        assert_eq!(
            s.offer_free(&mac(3), 30, &second_only),
            Err(AllocError::Exhausted),
            "the open pool's address is not the client's"
        );
        assert_eq!(
            s.offer_free(&mac(3), 30, &Access::OPEN).unwrap(),
            ip("10.0.0.10")
        );
    }

    #[test]
    fn a_nearly_full_slash_16_allocates_without_scanning() {
        let mut s = SubnetAllocator::new(&[(ip("10.1.0.1"), ip("10.1.255.254"))], []);
        let total = s.free();
        assert_eq!(total, 65_534);
        for n in 0..total - 3 {
            let offered = offer(&mut s, &mac(n), None, 0, 30).unwrap();
            s.commit(&mac(n), offered, 0, 3600, &Access::OPEN).unwrap();
        }
        assert_eq!(s.free(), 3);
        let mut last = Vec::new();
        for n in 0..3 {
            last.push(offer(&mut s, &mac(1_000_000 + n), None, 0, 30).unwrap());
        }
        assert_eq!(
            offer(&mut s, &mac(2_000_000), None, 0, 30),
            Err(AllocError::Exhausted)
        );
        last.sort();
        last.dedup();
        assert_eq!(last.len(), 3);
    }
}
