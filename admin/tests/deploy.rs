//! The deployment files, checked without a container daemon or `helm` (neither runs on
//! the development machine): the compose file and the Helm chart parse as YAML with
//! the keys that make them work, the chart's templates are rendered with its default
//! values by a renderer of the few template actions the chart uses (any other action
//! fails this test, so the chart stays within what is checked here), and the
//! Dockerfile keeps its shape (multi-stage, non-root, the binary as entry point).

use std::{collections::BTreeMap, path::PathBuf};

use yaml_rust2::{Yaml, YamlEmitter, YamlLoader};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml(text: &str, what: &str) -> Vec<Yaml> {
    YamlLoader::load_from_str(text).unwrap_or_else(|e| panic!("{what} is not YAML: {e}\n{text}"))
}

fn str_at<'a>(doc: &'a Yaml, path: &[&str]) -> &'a str {
    let node = path.iter().fold(doc, |node, key| &node[*key]);
    node.as_str()
        .unwrap_or_else(|| panic!("{path:?} is not a string: {node:?}"))
}

#[test]
fn the_compose_file_runs_the_admin_on_postgresql() {
    let doc = &yaml(&read("deploy/compose.yaml"), "deploy/compose.yaml")[0];
    let services = &doc["services"];
    assert_eq!(
        str_at(services, &["postgres", "image"]).split(':').next(),
        Some("postgres")
    );
    let admin = &services["admin"];
    assert_eq!(str_at(admin, &["build", "dockerfile"]), "Dockerfile");
    assert_eq!(str_at(admin, &["build", "context"]), "..");
    assert!(
        str_at(admin, &["environment", "EDGEFLAG_DATABASE_URL"]).starts_with("postgres://"),
        "the admin uses the compose file's PostgreSQL"
    );
    assert_eq!(
        str_at(admin, &["environment", "EDGEFLAG_LISTEN"]),
        "0.0.0.0:8080"
    );
    assert!(
        admin["environment"]["EDGEFLAG_MASTER_KEY_FILE"]
            .as_str()
            .is_some()
    );
    assert_eq!(
        str_at(admin, &["depends_on", "postgres", "condition"]),
        "service_healthy"
    );
    assert!(
        services["postgres"]["healthcheck"]["test"]
            .as_vec()
            .is_some()
    );
    // Every variable the admin is given exists (a typo would be ignored silently).
    let config = read("docs/admin-config.md");
    for (name, _) in admin["environment"].as_hash().unwrap() {
        let name = name.as_str().unwrap();
        assert!(
            config.contains(&format!("`{name}`")),
            "{name} is not an admin setting"
        );
    }
}

#[test]
fn the_dockerfile_builds_in_one_stage_and_runs_as_non_root_in_another() {
    let text = read("Dockerfile");
    let stages: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(stages.len(), 2, "{stages:?}");
    assert!(stages[0].contains("rust:") && stages[0].ends_with("AS build"));
    assert!(stages[1].contains("distroless") && stages[1].contains("nonroot"));
    assert!(
        text.contains("cargo xtask build-ui"),
        "the dashboard is embedded"
    );
    assert!(text.contains("cargo build --release -p edgeflag-admin --bin edgeflag"));
    assert!(text.contains("USER 65532:65532"));
    assert!(text.contains("ENTRYPOINT [\"/usr/local/bin/edgeflag\"]"));
    let ignore = read(".dockerignore");
    assert!(ignore.lines().any(|l| l == "target/"));
}

/// The values a template sees: `.Values`, `.Chart`, `.Release`.
struct Scope {
    values: Yaml,
    chart: Yaml,
    release: &'static str,
}

impl Scope {
    fn lookup(&self, term: &str) -> Yaml {
        let term = term.trim();
        if let Some(text) = term.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
            return Yaml::String(text.to_string());
        }
        let mut parts = term.trim_start_matches('.').split('.');
        let node = match parts.next() {
            Some("Values") => parts.fold(&self.values, |node, key| &node[key]),
            // `.Chart.AppVersion` is Chart.yaml's `appVersion`.
            Some("Chart") => parts.fold(&self.chart, |node, key| {
                let mut chars = key.chars();
                let first = chars.next().map(|c| c.to_ascii_lowercase());
                &node[first.into_iter().chain(chars).collect::<String>().as_str()]
            }),
            Some("Release") => {
                assert_eq!(term, ".Release.Name", "only .Release.Name is rendered here");
                return Yaml::String(self.release.to_string());
            }
            _ => panic!("the chart uses `{term}`, which this renderer does not know"),
        };
        if matches!(node, Yaml::BadValue) {
            panic!("`{term}` is not in values.yaml or Chart.yaml");
        }
        node.clone()
    }
}

fn scalar(value: &Yaml) -> String {
    match value {
        Yaml::String(s) | Yaml::Real(s) => s.clone(),
        Yaml::Integer(i) => i.to_string(),
        Yaml::Boolean(b) => b.to_string(),
        Yaml::Null => String::new(),
        other => panic!("{other:?} is not a scalar"),
    }
}

fn to_yaml(value: &Yaml) -> String {
    let mut out = String::new();
    YamlEmitter::new(&mut out).dump(value).unwrap();
    out.trim_start_matches("---")
        .trim_start_matches('\n')
        .to_string()
}

/// One `{{ … }}` action: a term, then functions (`quote`, `default X`, `toYaml`,
/// `nindent N`), as Helm evaluates them.
fn evaluate(action: &str, scope: &Scope) -> String {
    let mut stages = action.split('|').map(str::trim);
    let first = stages.next().unwrap_or_default();
    let mut text = match first.strip_prefix("toYaml ") {
        Some(term) => to_yaml(&scope.lookup(term)),
        None => scalar(&scope.lookup(first)),
    };
    for stage in stages {
        let (function, argument) = stage.split_once(' ').unwrap_or((stage, ""));
        text = match function {
            "quote" => format!("{text:?}"),
            "default" if text.is_empty() => scalar(&scope.lookup(argument)),
            "default" => text,
            "nindent" => {
                let n: usize = argument.parse().unwrap();
                let pad = " ".repeat(n);
                let lines: Vec<String> = text.lines().map(|l| format!("{pad}{l}")).collect();
                format!("\n{}", lines.join("\n"))
            }
            other => panic!("the chart uses `{other}`, which this renderer does not know"),
        };
    }
    text
}

/// Renders a template: actions replaced, `{{-` trimming the whitespace before it.
fn render(template: &str, scope: &Scope) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let (before, after) = rest.split_at(open);
        let close = after.find("}}").expect("an unclosed {{");
        let mut action = &after[2..close];
        out.push_str(before);
        if let Some(trimmed) = action.strip_prefix('-') {
            let kept = out.trim_end().len();
            out.truncate(kept);
            action = trimmed;
        }
        assert!(!action.ends_with('-'), "`-}}` is not rendered here");
        out.push_str(&evaluate(action.trim(), scope));
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    out
}

fn rendered_chart() -> BTreeMap<String, Yaml> {
    let dir = "deploy/helm/edgeflag";
    let scope = Scope {
        values: yaml(&read(&format!("{dir}/values.yaml")), "values.yaml").remove(0),
        chart: yaml(&read(&format!("{dir}/Chart.yaml")), "Chart.yaml").remove(0),
        release: "flags",
    };
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(root().join(dir).join("templates")).unwrap() {
        let path = entry.unwrap().path();
        let text = render(&std::fs::read_to_string(&path).unwrap(), &scope);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let doc = yaml(&text, &name).remove(0);
        out.insert(str_at(&doc, &["kind"]).to_string(), doc);
    }
    out
}

#[test]
fn the_helm_chart_renders_to_the_expected_manifests() {
    let chart = rendered_chart();
    let kinds: Vec<&str> = chart.keys().map(String::as_str).collect();
    assert_eq!(
        kinds,
        [
            "ConfigMap",
            "Deployment",
            "HorizontalPodAutoscaler",
            "Secret",
            "Service"
        ]
    );
    let deployment = &chart["Deployment"];
    let pod = &deployment["spec"]["template"];
    assert_eq!(
        deployment["spec"]["selector"]["matchLabels"], pod["metadata"]["labels"],
        "the selector matches the pods"
    );
    let container = &pod["spec"]["containers"][0];
    assert_eq!(str_at(container, &["image"]), "edgeflag-admin:0.1.0");
    assert_eq!(
        str_at(container, &["livenessProbe", "httpGet", "path"]),
        "/healthz"
    );
    assert_eq!(
        str_at(container, &["readinessProbe", "httpGet", "path"]),
        "/readyz"
    );
    assert_eq!(container["ports"][0]["containerPort"].as_i64(), Some(8080));
    assert!(
        container["resources"]["limits"]["memory"]
            .as_str()
            .is_some()
    );
    assert!(container["resources"]["requests"]["cpu"].as_str().is_some());
    assert_eq!(
        container["securityContext"]["readOnlyRootFilesystem"].as_bool(),
        Some(true)
    );
    assert_eq!(
        pod["spec"]["securityContext"]["runAsNonRoot"].as_bool(),
        Some(true)
    );
    let sources = container["envFrom"].as_vec().unwrap();
    assert_eq!(
        str_at(&sources[0], &["configMapRef", "name"]),
        str_at(&chart["ConfigMap"], &["metadata", "name"])
    );
    assert_eq!(
        str_at(&sources[1], &["secretRef", "name"]),
        str_at(&chart["Secret"], &["metadata", "name"])
    );
    // The admin listens where the container port and the service point.
    assert_eq!(
        str_at(&chart["ConfigMap"], &["data", "EDGEFLAG_LISTEN"]),
        "0.0.0.0:8080"
    );
    assert_eq!(
        chart["Service"]["spec"]["ports"][0]["targetPort"].as_str(),
        Some("http")
    );
    assert_eq!(
        chart["Service"]["spec"]["selector"],
        pod["metadata"]["labels"]
    );
    let hpa = &chart["HorizontalPodAutoscaler"];
    assert_eq!(
        str_at(hpa, &["spec", "scaleTargetRef", "kind"]),
        "Deployment"
    );
    assert_eq!(
        str_at(hpa, &["spec", "scaleTargetRef", "name"]),
        str_at(deployment, &["metadata", "name"])
    );
    assert!(hpa["spec"]["maxReplicas"].as_i64() >= hpa["spec"]["minReplicas"].as_i64());
    // ConfigMap values are strings, and every one is an admin setting.
    let config = read("docs/admin-config.md");
    for (name, value) in chart["ConfigMap"]["data"].as_hash().unwrap() {
        let name = name.as_str().unwrap();
        assert!(value.as_str().is_some(), "{name} must be a string");
        assert!(
            config.contains(&format!("`{name}`")),
            "{name} is not an admin setting"
        );
    }
    for (name, _) in chart["Secret"]["stringData"].as_hash().unwrap() {
        let name = name.as_str().unwrap();
        assert!(
            config.contains(&format!("`{name}`")),
            "{name} is not an admin setting"
        );
    }
}

#[test]
fn the_grafana_dashboard_queries_only_documented_series() {
    let dashboard: serde_json::Value =
        serde_json::from_str(&read("deploy/grafana/edgeflag-admin.json")).unwrap();
    let docs = read("docs/deployment.md");
    let mut queried = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            for (at, _) in expr.match_indices("edgeflag_admin_") {
                let name: String = expr[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                let series = name.trim_end_matches("_bucket");
                assert!(
                    docs.contains(&format!("| `{series}` |")),
                    "{series} is not in the metrics table of docs/deployment.md"
                );
                queried += 1;
            }
        }
    }
    assert!(queried >= 10, "{queried}");
}
