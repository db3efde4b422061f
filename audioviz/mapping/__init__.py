"""From features to the ten visual parameters: fitted scaling (and, later, transforms), the
component-to-parameter order, and the timeline that turns segments into frames."""
