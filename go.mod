module muninn

go 1.26.8

require (
	github.com/coreos/go-systemd/v22 v22.7.0
	github.com/fxamacker/cbor/v2 v2.9.6
	go.uber.org/goleak v1.3.0
	golang.org/x/text v0.43.0
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/kr/text v0.2.0 // indirect
	github.com/prometheus/client_golang v1.25.0 // indirect
	github.com/x448/float16 v0.8.4 // indirect
)
