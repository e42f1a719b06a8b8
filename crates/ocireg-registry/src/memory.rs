//! The memory budget: every byte of client data the registry holds in
//! memory (manifests; with memory storage also blobs and uploads in
//! progress) is charged to it, and released when the data goes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The bytes of client data held in memory, and their cap.
#[derive(Debug)]
pub(crate) struct MemoryBudget {
    limit: u64,
    used: AtomicU64,
}

/// Client data that does not fit under the memory cap.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error(
    "the registry's memory limit of {limit} bytes is reached: {used} bytes in use, {requested} more asked for"
)]
pub(crate) struct MemoryFull {
    /// The bytes asked for.
    pub(crate) requested: u64,
    /// The bytes in use when they were asked for.
    pub(crate) used: u64,
    /// The cap.
    pub(crate) limit: u64,
}

impl MemoryBudget {
    pub(crate) fn new(limit: u64) -> Arc<Self> {
        Arc::new(Self {
            limit,
            used: AtomicU64::new(0),
        })
    }

    /// The cap in bytes.
    pub(crate) fn limit(&self) -> u64 {
        self.limit
    }

    /// The bytes charged now.
    pub(crate) fn used(&self) -> u64 {
        self.used.load(Ordering::Acquire)
    }

    /// Charges `bytes`, released when the returned [`Charge`] is dropped.
    pub(crate) fn charge(self: &Arc<Self>, bytes: u64) -> Result<Charge, MemoryFull> {
        let mut charge = Charge {
            budget: Arc::clone(self),
            bytes: 0,
        };
        charge.grow(bytes)?;
        Ok(charge)
    }

    /// Fails with [`MemoryFull`] unless `bytes` more fit now (without
    /// charging them): a cheap check before reading a body of known size.
    pub(crate) fn check_room(&self, bytes: u64) -> Result<(), MemoryFull> {
        let used = self.used();
        if used
            .checked_add(bytes)
            .is_some_and(|total| total <= self.limit)
        {
            Ok(())
        } else {
            Err(MemoryFull {
                requested: bytes,
                used,
                limit: self.limit,
            })
        }
    }
}

/// Bytes charged to a [`MemoryBudget`], released on drop.
#[derive(Debug)]
pub(crate) struct Charge {
    budget: Arc<MemoryBudget>,
    bytes: u64,
}

impl Charge {
    /// Charges `more` bytes, or nothing if they do not fit.
    pub(crate) fn grow(&mut self, more: u64) -> Result<(), MemoryFull> {
        let budget = &self.budget;
        budget
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(more)
                    .filter(|&total| total <= budget.limit)
            })
            .map_err(|used| MemoryFull {
                requested: more,
                used,
                limit: budget.limit,
            })?;
        self.bytes += more;
        Ok(())
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_are_capped_and_released() {
        let budget = MemoryBudget::new(100);
        let mut a = budget.charge(60).expect("fits");
        assert!(budget.charge(41).is_err());
        assert!(budget.check_room(40).is_ok());
        assert!(budget.check_room(41).is_err());
        assert!(budget.check_room(u64::MAX).is_err());
        let b = budget.charge(40).expect("fits exactly");
        assert_eq!(budget.used(), 100);
        let full = a.grow(1).expect_err("full");
        assert_eq!((full.requested, full.used, full.limit), (1, 100, 100));
        drop(b);
        a.grow(40).expect("room again");
        assert_eq!(budget.used(), 100);
        drop(a);
        assert_eq!(budget.used(), 0);
        assert!(budget.charge(u64::MAX).is_err());
        assert_eq!(budget.used(), 0);
    }
}
