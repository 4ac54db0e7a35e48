# Skirmish: `make run` starts the server, `make test` runs every test.
GO      ?= go
ARGS    ?=
FUZZTIME ?= 10s

.PHONY: run build test vet unit fuzz bench clean

## run: build and start the server on 127.0.0.1:8080 (ARGS="-addr :9000" or SKIRMISH_ADDR to change)
run: build
	./bin/skirmish $(ARGS)

## build: bin/skirmish (server) and bin/bots (bot runner)
build:
	$(GO) build -o bin/skirmish ./server/cmd/skirmish
	$(GO) build -o bin/bots ./bots

## test: vet, every unit and integration test with the race detector, and a short fuzz of each decoder
test: vet unit fuzz

vet:
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 ./...

## fuzz: run each fuzz test of untrusted-bytes decoders for FUZZTIME
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeClient$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 2000x -parallel 1 ./netcode
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeServer$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 2000x -parallel 1 ./netcode

## bench: hot-path benchmarks with allocations
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./netcode ./match

clean:
	rm -rf bin
