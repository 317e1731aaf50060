"""What the tests and the benchmarks run beside the app, never imported by it: a Twilio-speaking
HTTP server on 127.0.0.1 (on the loopback base the tests' shop servers share too) (the network boundary, faked in the provider's documented shapes), the
shops' webhook bodies in their documented shapes, real `qcluster` processes and a private
`redis-server`."""
