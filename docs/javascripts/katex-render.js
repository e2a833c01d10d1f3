// KaTeX (the copy the package ships, added to the site by docs/_mkdocs/hooks.py) typesets what
// pymdownx.arithmatex marked: class "arithmatex", \( \) inline and \[ \] displayed; again each
// time Material swaps a page in.
function typesetMath() {
  document.querySelectorAll(".arithmatex").forEach((element) => {
    const tex = element.textContent.trim();
    if (tex.length < 4) return;
    katex.render(tex.slice(2, -2), element,
                 {displayMode: tex.startsWith("\\["), throwOnError: false});
  });
}

if (typeof document$ !== "undefined") {
  document$.subscribe(typesetMath);
} else {
  document.addEventListener("DOMContentLoaded", typesetMath);
}
