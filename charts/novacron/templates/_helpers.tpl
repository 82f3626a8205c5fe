{{/* Names and labels shared by every template. */}}

{{- define "novacron.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release's base name: "novacron" for `helm install novacron`, so the objects are named as in
config/ (novacron-controller, novacron-node-daemon).
*/}}
{{- define "novacron.fullname" -}}
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

{{- define "novacron.controller.fullname" -}}
{{- printf "%s-controller" (include "novacron.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "novacron.nodeDaemon.fullname" -}}
{{- printf "%s-node-daemon" (include "novacron.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "novacron.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object (app.kubernetes.io/*, Helm's recommended set). */}}
{{- define "novacron.labels" -}}
helm.sh/chart: {{ include "novacron.chart" . }}
app.kubernetes.io/name: {{ include "novacron.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: novacron
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of one component (controller, node-daemon); never change on upgrade. */}}
{{- define "novacron.selectorLabels" -}}
app.kubernetes.io/name: {{ include "novacron.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "novacron.componentLabels" -}}
{{ include "novacron.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* image: registry/repository:tag or @digest; the image's registry wins over global.imageRegistry, the tag defaults to the chart's appVersion. */}}
{{- define "novacron.image" -}}
{{- $registry := .image.registry | default .root.Values.global.imageRegistry -}}
{{- $ref := .image.repository -}}
{{- if $registry }}{{ $ref = printf "%s/%s" $registry .image.repository }}{{ end -}}
{{- if .image.digest -}}
{{ printf "%s@%s" $ref .image.digest }}
{{- else -}}
{{ printf "%s:%s" $ref (.image.tag | default .root.Chart.AppVersion) }}
{{- end -}}
{{- end }}

{{- define "novacron.controller.serviceAccountName" -}}
{{- default (include "novacron.controller.fullname" .) .Values.controller.serviceAccount.name }}
{{- end }}

{{- define "novacron.nodeDaemon.serviceAccountName" -}}
{{- default (include "novacron.nodeDaemon.fullname" .) .Values.nodeDaemon.serviceAccount.name }}
{{- end }}

{{/*
The node-daemon's heartbeat Leases live in this namespace; the name is fixed in the code
(lib/api/node_lease.h kNodeLeaseNamespace), so it is not a value.
*/}}
{{- define "novacron.nodeLeaseNamespace" -}}
novacron-node-lease
{{- end }}
