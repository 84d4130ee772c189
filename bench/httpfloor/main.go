// Command httpfloor is the yardstick of bench/load.sh: a net/http server
// whose POST /v1/checks reads the body and answers a constant allow of the
// same shape and headers as Credo's, with no authentication, no table, no
// check log. What wrk measures against it on a machine is the most any Go
// HTTP/1.1 server can answer there with the load generator beside it; Credo's
// figure is read against it.
//
//	go run ./bench/httpfloor -addr 127.0.0.1:18099
package main

import (
	"flag"
	"io"
	"log"
	"net/http"
)

const answer = `{"subject":"110105199003074578","sector":"aviation","decision":"allow","measures":[],"reasons":[],"policy":"22ca3439a974","log_position":650221}` + "\n"

func main() {
	addr := flag.String("addr", "127.0.0.1:18099", "listen address")
	flag.Parse()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/checks", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Cache-Control"] = []string{"no-store"}
		io.WriteString(w, answer)
	})
	log.Fatal(http.ListenAndServe(*addr, mux))
}
