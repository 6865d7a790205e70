//! The lens's near/far steps as a focuser with a position.
//!
//! A Sony body moves manual focus by steps of size 1, 3 or 7 toward near or far (0xD2D1, the
//! service's `focus_step`) and tells no position. Astronomy clients' autofocus wants an
//! absolute focuser, so the position here is *counted*, not measured: one unit is a size-1
//! step, a size-3 step counts 3 and a size-7 step 7 (the sizes' names; how far each really
//! moves the lens depends on the lens), counted from where the lens was when the focuser was
//! made, which is the middle of the range so both ways stay at or above 0. Larger positions
//! are farther.
//!
//! A move is planned as [`Chunk`]s of a few requests each; a front end sends one chunk at a
//! time with `focus_step(size, count)` and records it with [`StepModel::moved`], so a halt
//! takes effect between chunks and the position counts what was really sent.

/// The step sizes 0xD2D1 takes, largest first.
pub const STEP_SIZES: [u32; 3] = [7, 3, 1];

/// The default range, in size-1 steps: 0 to MaxStep in size-7 steps is 429 requests, about
/// 26 s at the service's 50 ms between steps (ConformU allows a move 60 s).
pub const DEFAULT_MAX_STEP: u32 = 3000;

/// Requests in one chunk: about 0.3 s of steps, how long a halt may wait.
pub const DEFAULT_CHUNK_REQUESTS: u32 = 5;

/// Part of a move: `count` steps of `size` (negative nearer, positive farther), one
/// `focus_step(size, count)`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// ±1, ±3 or ±7.
    pub size: i32,
    /// How many steps, at least 1.
    pub count: u32,
}

impl Chunk {
    /// How far it moves, in size-1 steps (negative nearer).
    pub fn distance(self) -> i64 {
        i64::from(self.size) * i64::from(self.count)
    }
}

/// `distance` size-1 steps (negative nearer) as chunks of at most `max_requests` requests
/// each (at least 1), the largest sizes first: the fewest requests that add up exactly.
pub fn plan_steps(distance: i64, max_requests: u32) -> Vec<Chunk> {
    let max_requests = max_requests.max(1);
    let sign: i32 = if distance < 0 { -1 } else { 1 };
    let mut left = distance.unsigned_abs();
    let mut chunks = Vec::new();
    for size in STEP_SIZES {
        let mut count = left / u64::from(size);
        left %= u64::from(size);
        while count > 0 {
            let now = count.min(u64::from(max_requests));
            count -= now;
            // `now` ≤ max_requests, a u32; the size is 1, 3 or 7.
            chunks.push(Chunk {
                size: sign * size as i32,
                count: now as u32,
            });
        }
    }
    chunks
}

/// Why a move cannot be made.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FocuserError {
    /// A relative move longer than MaxIncrement.
    #[error("a move of {requested} steps is more than the {max_increment} allowed at once")]
    TooFar {
        /// The move asked for.
        requested: i64,
        /// MaxIncrement.
        max_increment: u32,
    },
}

/// The counted focuser: its position and limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepModel {
    position: u32,
    max_step: u32,
    max_increment: u32,
    chunk_requests: u32,
}

impl StepModel {
    /// A focuser of 0 to `max_step` (at least 1) at its middle, moving at most
    /// `max_increment` (1 to `max_step`) at once.
    pub fn new(max_step: u32, max_increment: u32) -> StepModel {
        let max_step = max_step.max(1);
        StepModel {
            position: max_step / 2,
            max_step,
            max_increment: max_increment.clamp(1, max_step),
            chunk_requests: DEFAULT_CHUNK_REQUESTS,
        }
    }

    /// The counted position, 0 to MaxStep.
    pub fn position(&self) -> u32 {
        self.position
    }

    /// MaxStep.
    pub fn max_step(&self) -> u32 {
        self.max_step
    }

    /// MaxIncrement.
    pub fn max_increment(&self) -> u32 {
        self.max_increment
    }

    /// The chunks that bring the position to `target`, clamped to 0..=MaxStep (a target out
    /// of range moves to the end, as ConformU expects of an absolute focuser).
    pub fn plan_to(&self, target: i64) -> Vec<Chunk> {
        let target = target.clamp(0, i64::from(self.max_step));
        plan_steps(target - i64::from(self.position), self.chunk_requests)
    }

    /// The chunks of a relative move by `delta` (negative nearer), stopping at the ends;
    /// longer than MaxIncrement is refused.
    pub fn plan_by(&self, delta: i64) -> Result<Vec<Chunk>, FocuserError> {
        if delta.unsigned_abs() > u64::from(self.max_increment) {
            return Err(FocuserError::TooFar {
                requested: delta,
                max_increment: self.max_increment,
            });
        }
        Ok(self.plan_to(i64::from(self.position).saturating_add(delta)))
    }

    /// Records a chunk the camera took; the position stays within 0..=MaxStep.
    pub fn moved(&mut self, chunk: Chunk) {
        let next = i64::from(self.position).saturating_add(chunk.distance());
        // Clamped to 0..=max_step, a u32.
        self.position = next.clamp(0, i64::from(self.max_step)) as u32;
    }
}

impl Default for StepModel {
    fn default() -> StepModel {
        StepModel::new(DEFAULT_MAX_STEP, DEFAULT_MAX_STEP)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn c(size: i32, count: u32) -> Chunk {
        Chunk { size, count }
    }

    #[test]
    fn moves_use_the_largest_steps_in_short_chunks() {
        assert_eq!(plan_steps(0, 5), vec![]);
        assert_eq!(plan_steps(1, 5), vec![c(1, 1)]);
        assert_eq!(plan_steps(-2, 5), vec![c(-1, 2)]);
        assert_eq!(plan_steps(3, 5), vec![c(3, 1)]);
        assert_eq!(plan_steps(6, 5), vec![c(3, 2)]);
        assert_eq!(plan_steps(13, 5), vec![c(7, 1), c(3, 2)]);
        assert_eq!(plan_steps(-50, 5), vec![c(-7, 5), c(-7, 2), c(-1, 1)]);
        assert_eq!(
            plan_steps(14, 0),
            vec![c(7, 1), c(7, 1)],
            "at least one a chunk"
        );
    }

    #[test]
    fn the_model_counts_from_the_middle_and_stays_in_range() {
        let mut f = StepModel::new(100, 40);
        assert_eq!(f.position(), 50);
        assert_eq!((f.max_step(), f.max_increment()), (100, 40));
        let plan = f.plan_to(60);
        assert_eq!(plan, vec![c(7, 1), c(3, 1)]);
        for chunk in plan {
            f.moved(chunk);
        }
        assert_eq!(f.position(), 60);
        // Below 0 and above MaxStep go to the ends.
        assert_eq!(f.plan_to(-5).iter().map(|c| c.distance()).sum::<i64>(), -60);
        assert_eq!(
            f.plan_to(1000).iter().map(|c| c.distance()).sum::<i64>(),
            40
        );
        // Relative: within MaxIncrement, stopping at the end.
        assert_eq!(f.plan_by(-7).unwrap(), vec![c(-7, 1)]);
        assert_eq!(
            f.plan_by(40)
                .unwrap()
                .iter()
                .map(|c| c.distance())
                .sum::<i64>(),
            40
        );
        assert_eq!(
            f.plan_by(41),
            Err(FocuserError::TooFar {
                requested: 41,
                max_increment: 40
            })
        );
        assert!(f.plan_by(-41).is_err());
        // A halted move: only the chunks sent count.
        let plan = f.plan_to(0);
        f.moved(plan[0]);
        assert_eq!(f.position(), 60 - 35);
        // A chunk past the end (the lens at its stop) counts to the end only.
        f.moved(c(-7, 100));
        assert_eq!(f.position(), 0);
    }

    #[test]
    fn limits_are_made_sane() {
        let f = StepModel::new(0, 0);
        assert_eq!((f.max_step(), f.max_increment(), f.position()), (1, 1, 0));
        assert_eq!(StepModel::new(10, 99).max_increment(), 10);
        let d = StepModel::default();
        assert_eq!(d.position(), DEFAULT_MAX_STEP / 2);
    }

    proptest! {
        #[test]
        fn a_plan_adds_up_in_the_fewest_requests(distance in -100_000i64..100_000, max in 1u32..20) {
            let plan = plan_steps(distance, max);
            prop_assert_eq!(plan.iter().map(|c| c.distance()).sum::<i64>(), distance);
            for chunk in &plan {
                prop_assert!(chunk.count >= 1 && chunk.count <= max);
                prop_assert!(STEP_SIZES.contains(&chunk.size.unsigned_abs()));
                prop_assert_eq!(chunk.size < 0, distance < 0);
            }
            let requests: u64 = plan.iter().map(|c| u64::from(c.count)).sum();
            let n = distance.unsigned_abs();
            let fewest = n / 7 + (n % 7) / 3 + (n % 7) % 3;
            prop_assert_eq!(requests, fewest);
        }

        #[test]
        fn a_finished_move_lands_on_the_target(max_step in 1u32..5000, target in -10_000i64..10_000) {
            let mut f = StepModel::new(max_step, max_step);
            for chunk in f.plan_to(target) {
                f.moved(chunk);
            }
            prop_assert_eq!(i64::from(f.position()), target.clamp(0, i64::from(max_step)));
        }
    }
}
