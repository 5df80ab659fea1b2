"""What every process stands on: settings and secrets (`settings`, `live_settings`), logging and
masking (`log_config`), the one way to connect to Temporal (`temporal_connection`, with the codec and
the failure converter, `failure_converter`). Nothing here knows the programme's rules."""
