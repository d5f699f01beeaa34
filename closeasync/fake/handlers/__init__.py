"""Request handlers of the fake: Close's rules, one module per concern."""
