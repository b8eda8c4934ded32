"""The bundled demo: a provider with switchable bugs and a ChatGPT-like client, both on loopback."""
