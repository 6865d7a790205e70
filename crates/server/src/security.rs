//! TODO(skeleton): the token, Host and Origin checks.
