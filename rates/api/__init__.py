"""The rates API: exchange rates (``fx``) and BCRP rate caps (``caps``)."""
