"""One blueprint per feature (``geo_app.BLUEPRINTS`` lists the modules, each exposing ``bp``)."""
