"""What the tests and the benchmarks run beside the app, never imported by it: a Twilio-speaking
HTTP server on 127.0.0.1 (the network boundary, faked in the provider's documented shapes) on a
loopback base the tests' shop servers share, the shops' webhook bodies in their documented shapes,
real `qcluster` processes and a private `redis-server`."""
