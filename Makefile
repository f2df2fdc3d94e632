# The NOC data plane on Kubernetes: the seed's targets against a kind cluster,
# plus the images and the offline manifest check.
#
#   make check-k8s     offline check of k8s/ (no cluster; what CI runs)
#   make images        build noc/lb, noc/resolver, noc/dhcp4 (docker/build-images.sh)
#   make check-images  build the images FROM scratch with podman and smoke-run them (root; CI)
#   make deploy        kind cluster + MetalLB, images loaded, DoT Secret, overlay applied
#   make status        pods, Services, addresses, the lb's backends
#   make test          DNS (dig, kdig) and DHCP (relay + client) tests from pods
#   make test-scale    resolvers 2 -> 3 -> 2 under load; the lb follows without a restart
#   make bench-scale   dnsperf -c 10 -T 10 -l 30 per resolver count (REPLICAS_LIST)
#   make tls-cert      the self-signed DoT Secret lb-tls (k8s/scripts/tls-cert.sh)
#   make monitoring    kube-prometheus-stack (helm) and our ServiceMonitors, rules, dashboards
#   make clean         delete the kind cluster
#
# Everything but check-k8s, images and check-images needs Docker, kind and kubectl (helm for
# monitoring); see k8s/README.md. The machine CI runs on has no Docker engine.

SHELL := /bin/bash
CLUSTER ?= noc-poc
NAMESPACE ?= noc-poc
OVERLAY ?= k8s/overlays/poc
REPLICAS ?= 3
REPLICAS_LIST ?= 1 2 3
KUBECTL ?= kubectl
KPS_VERSION ?= 72.6.2

export CLUSTER NAMESPACE REPLICAS REPLICAS_LIST KUBECTL
export OVERLAY := $(abspath $(OVERLAY))

KCTL := $(KUBECTL) --context kind-$(CLUSTER)

.PHONY: help check-k8s images check-images kind-up load-images deploy status test test-dns test-dhcp \
	test-scale bench-scale tls-cert monitoring grafana-forward prometheus-forward e2e-kind clean

help:
	@sed -n '4,15p' Makefile | sed 's/^# \{0,1\}//'

check-k8s:
	k8s/check.sh

images:
	docker/build-images.sh

check-images:
	docker/check.sh

kind-up:
	tests/kind/create-cluster.sh

load-images: kind-up
	tests/kind/load-images.sh

deploy: load-images
	tests/kind/deploy.sh

status:
	tests/kind/status.sh

test: test-dns test-dhcp

test-dns:
	tests/kind/test-dns.sh

test-dhcp:
	tests/kind/test-dhcp.sh

test-scale:
	tests/kind/test-scale.sh

bench-scale:
	tests/kind/bench-scale.sh

tls-cert:
	KUBECTL="$(KCTL)" k8s/scripts/tls-cert.sh --namespace $(NAMESPACE) --force \
	  --ip $$(source tests/kind/lib.sh && eval "$$(kind_addresses)" && echo $$DNS_IP)

monitoring: kind-up
	@command -v helm >/dev/null || { echo "make monitoring needs helm" >&2; exit 1; }
	helm repo add prometheus-community https://prometheus-community.github.io/helm-charts --force-update
	helm --kube-context kind-$(CLUSTER) upgrade --install kube-prometheus-stack \
	  prometheus-community/kube-prometheus-stack --version $(KPS_VERSION) \
	  --namespace monitoring --create-namespace \
	  -f k8s/monitoring/kube-prometheus-stack-values.yaml --wait --timeout 10m
	@# Now that the CRDs exist, (re)apply the overlay with its ServiceMonitors and rules.
	if $(KCTL) get namespace $(NAMESPACE) >/dev/null 2>&1; then tests/kind/deploy.sh; fi

grafana-forward:
	$(KCTL) -n monitoring port-forward service/kube-prometheus-stack-grafana 3000:80

prometheus-forward:
	$(KCTL) -n monitoring port-forward service/kube-prometheus-stack-prometheus 9090:9090

e2e-kind:
	tests/kind/run-all.sh

clean:
	tests/kind/delete-cluster.sh
