"""marshmallow schemas for the API, one module per resource: they validate input and shape output;
a view never builds a dict by hand."""
