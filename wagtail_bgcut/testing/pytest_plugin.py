"""pytest plugin (registered through the ``pytest11`` entry point): the ``bgcut_server`` fixture."""
