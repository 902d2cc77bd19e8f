// The audit report's filter by verdict. The form is hidden in the HTML and shown here: without
// script every user stays visible and no control pretends to work.
(() => {
  const form = document.getElementById("filters");
  const shown = document.getElementById("shown");
  const users = [...document.querySelectorAll("tbody.user")];
  const apply = () => {
    const wanted = new Set([...form.querySelectorAll("input[name=verdict]:checked")].map((box) => box.value));
    let count = 0;
    for (const user of users) {
      user.hidden = !wanted.has(user.dataset.verdict);
      count += user.hidden ? 0 : 1;
    }
    shown.textContent = `${count.toLocaleString("en")} of ${users.length.toLocaleString("en")} users shown`;
  };
  form.addEventListener("change", apply);
  form.hidden = false;
  apply();
})();
