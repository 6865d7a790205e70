//! Saving downloaded images (being written).
