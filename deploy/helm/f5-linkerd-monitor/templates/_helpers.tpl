{{/* Names, labels and the effective config of f5-linkerd-monitor. */}}

{{- define "f5-linkerd-monitor.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "f5-linkerd-monitor.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "f5-linkerd-monitor.selectorLabels" -}}
app.kubernetes.io/name: {{ include "f5-linkerd-monitor.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "f5-linkerd-monitor.labels" -}}
{{ include "f5-linkerd-monitor.selectorLabels" . }}
app.kubernetes.io/part-of: f5-linkerd-monitor
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{- define "f5-linkerd-monitor.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "f5-linkerd-monitor.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "f5-linkerd-monitor.secretName" -}}
{{- default (printf "%s-bigip" (include "f5-linkerd-monitor.fullname" .)) .Values.bigipSecret.name }}
{{- end }}

{{- define "f5-linkerd-monitor.leaseName" -}}
{{- default (include "f5-linkerd-monitor.fullname" .) .Values.leaderElection.leaseName }}
{{- end }}

{{/* The Lease the monitor uses: with `shard` "i/N", the shard's own (monitor.daemon.shard.lease_name). */}}
{{- define "f5-linkerd-monitor.shardLeaseName" -}}
{{- $lease := include "f5-linkerd-monitor.leaseName" . }}
{{- if .Values.shard }}
{{- if not (regexMatch "^[0-9]+/[0-9]+$" (toString .Values.shard)) }}
{{- fail (printf "shard: expected i/N such as 1/3, got %q" (toString .Values.shard)) }}
{{- end }}
{{- $parts := splitList "/" (toString .Values.shard) }}
{{- $i := atoi (index $parts 0) }}
{{- $n := atoi (index $parts 1) }}
{{- if or (lt $n 1) (lt $i 1) (gt $i $n) }}
{{- fail (printf "shard: the shard number must be between 1 and N, got %s" (toString .Values.shard)) }}
{{- end }}
{{- $suffix := printf "-shard-%d-of-%d" $i $n }}
{{- $base := regexReplaceAll "[-.]+$" (trunc (int (sub 253 (len $suffix))) $lease) "" }}
{{- printf "%s%s" $base $suffix }}
{{- else }}
{{- $lease }}
{{- end }}
{{- end }}

{{/* The config file: .Values.config with leaderElection and server.listen set by the chart. */}}
{{- define "f5-linkerd-monitor.config" -}}
{{- $config := deepCopy .Values.config }}
{{- $_ := set $config "leaderElection" (dict "enabled" .Values.leaderElection.enabled "leaseName" (include "f5-linkerd-monitor.leaseName" .) "namespace" .Release.Namespace) }}
{{- $server := deepCopy (default (dict) $config.server) }}
{{- $_ := set $server "listen" (printf ":%d" (int .Values.port)) }}
{{- $_ := set $config "server" $server }}
{{- toYaml $config }}
{{- end }}

{{/* The Linkerd control-plane namespace of the config. */}}
{{- define "f5-linkerd-monitor.linkerdNamespace" -}}
{{- $mesh := default (dict) .Values.config.mesh }}
{{- default "linkerd" $mesh.linkerdNamespace }}
{{- end }}

{{/* The backend Services of the config as YAML: {namespace: [service names, sorted]}. */}}
{{- define "f5-linkerd-monitor.backends" -}}
{{- $byNamespace := dict }}
{{- range $index, $boundary := required "config.boundaries is required" .Values.config.boundaries }}
{{- $service := $boundary.backend.service }}
{{- $names := default (list) (get $byNamespace $service.namespace) }}
{{- $_ := set $byNamespace $service.namespace (append $names $service.name | uniq | sortAlpha) }}
{{- end }}
{{- toYaml $byNamespace }}
{{- end }}

{{/* The namespaces outside the backend namespaces whose ServiceAccounts the monitor may
read (policy_identity_unknown), as YAML {namespaces: [...]}: the namespaces of the
boundaries' clientIdentity (`<sa>.<ns>.serviceaccount.identity...`) and
rbac.identityNamespaces. */}}
{{- define "f5-linkerd-monitor.identityNamespaces" -}}
{{- $backends := include "f5-linkerd-monitor.backends" . | fromYaml }}
{{- $out := default (list) .Values.rbac.identityNamespaces }}
{{- range $boundary := .Values.config.boundaries }}
{{- with $boundary.clientIdentity }}
{{- $head := index (splitList ".serviceaccount.identity." .) 0 }}
{{- if ne $head . }}
{{- $out = append $out (last (splitList "." $head)) }}
{{- end }}
{{- end }}
{{- end }}
{{- $kept := list }}
{{- range $namespace := $out | uniq | sortAlpha }}
{{- if not (hasKey $backends $namespace) }}
{{- $kept = append $kept $namespace }}
{{- end }}
{{- end }}
{{- toYaml (dict "namespaces" $kept) }}
{{- end }}

{{/* Where the config reads the identity issuer (mesh.issuer.source, docs/security.md) as YAML:
{source: secret|certificate|configMap, configMaps: [the ConfigMap it reads, if any]}. */}}
{{- define "f5-linkerd-monitor.issuerSource" -}}
{{- $mesh := default (dict) .Values.config.mesh }}
{{- $issuer := default (dict) $mesh.issuer }}
{{- $source := default "secret" $issuer.source }}
{{- if not (has $source (list "secret" "certificate" "configMap")) }}
{{- fail (printf "config.mesh.issuer.source: expected secret, certificate or configMap, got %q" (toString $source)) }}
{{- end }}
{{- $configMaps := list }}
{{- if eq $source "configMap" }}
{{- $configMaps = list (default "linkerd-identity-issuer-public" $issuer.configMap) }}
{{- end }}
{{- toYaml (dict "source" $source "configMaps" $configMaps) }}
{{- end }}
