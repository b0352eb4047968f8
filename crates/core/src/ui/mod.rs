//! The page's state as plain data with a pure update, compiled natively so its logic is
//! tested without a browser (the Yew components in `web` only render it and send actions).

pub mod pool;
pub mod state;
