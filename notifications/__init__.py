"""In-app inbox and e-mail: other features tell users about things with :func:`notifications.service.notify`."""
from webapp.features import Feature

FEATURE = Feature(
    name="notifications",
    blueprints=("notifications.views",),
    models=("notifications.models",),
    setup="notifications.setup:init_app",
)
