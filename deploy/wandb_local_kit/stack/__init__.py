"""One deployment on this host: its settings, the compose runner, preflight, images,
and the checks of a lab's own MySQL and bucket."""
