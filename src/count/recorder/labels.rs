//! A batch's hit labels summed per (page, dimension, day, value), for the
//! dimension aggregates. Pure.

use std::collections::BTreeMap;

use crate::count::traits::HitTraits;
use crate::store::{Dimension, DimensionCount, Hit, PathId};
use crate::zone::DayNumber;

#[derive(Default)]
pub(super) struct Labels(BTreeMap<(PathId, Dimension, DayNumber, String), u64>);

impl Labels {
    pub(super) fn add(&mut self, hit: &Hit, traits: &HitTraits) {
        for (dimension, value) in traits.values() {
            *self
                .0
                .entry((hit.path, dimension, hit.day, value.to_owned()))
                .or_default() += 1;
        }
    }

    /// The sums in key order, so two writers lock rows in the same order.
    pub(super) fn into_rows(self) -> Vec<DimensionCount> {
        self.0
            .into_iter()
            .map(|((path, dimension, day, value), count)| DimensionCount {
                path,
                dimension,
                day,
                value,
                count,
            })
            .collect()
    }
}
