// The order desk (orders/form.html) and the receipt's Print button.
// The page is a plain form that works without this script; the script saves round trips:
// products and customers found as you type, lines added and removed in place, and the
// price, tax and total asked of the server (POST /api/orders/price: the server's own
// pricing, never worked out here). Enter in a field never records the sale.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  var printButton = document.getElementById("print-receipt");
  if (printButton) {
    printButton.hidden = false;
    printButton.addEventListener("click", function () { window.print(); });
  }

  var form = document.getElementById("desk");
  if (!form) { return; }
  var $ = function (id) { return document.getElementById(id); };
  var T = window.larderT;  // the shop's language (larder.js)
  var csrf = form.querySelector("input[name=csrf_token]").value;
  var tbody = $("lines");
  var find = $("find");
  var customer = $("customer");
  var status = document.createElement("p");  // said by screen readers: "Added Tea"
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  form.appendChild(status);
  var nextIndex = 0;
  rows().forEach(function (row) { nextIndex = Math.max(nextIndex, +row.dataset.index + 1); });

  function rows() { return Array.prototype.slice.call(tbody.querySelectorAll("tr")); }
  function say(text) { status.textContent = ""; window.setTimeout(function () { status.textContent = text; }, 50); }

  function send(method, url, body) {
    var options = {method: method, credentials: "same-origin",
                   headers: {"Accept": "application/json", "X-CSRFToken": csrf}};
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      return response.json().catch(function () { return {error: T("Larder did not answer as expected.")}; })
        .then(function (data) { data._status = response.status; return data; });
    });
  }

  // ---- errors next to their field ----------------------------------------------------
  function setError(input, message) {
    var id = "error-" + input.name;
    var node = $(id);
    var hints = (input.getAttribute("aria-describedby") || "").split(" ")
      .filter(function (x) { return x && x !== id; });
    if (!message) {
      if (node) { node.remove(); }
      input.removeAttribute("aria-invalid");
      if (hints.length) { input.setAttribute("aria-describedby", hints.join(" ")); }
      else { input.removeAttribute("aria-describedby"); }
      return;
    }
    if (!node) {
      node = document.createElement("p");
      node.className = "field-error";
      node.id = id;
      input.insertAdjacentElement("afterend", node);
    }
    node.textContent = message;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", [id].concat(hints).join(" "));
  }

  function clearErrors() {
    Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid=true]"), function (input) {
      setError(input, "");
    });
    $("desk-problem").textContent = "";
  }

  // ---- pricing: the server's ---------------------------------------------------------
  function draft() {
    var method = form.querySelector("input[name=payment_method]:checked");
    var who = customer.value.trim();
    return {
      customer_email: who.indexOf("@") > 0 ? who : "",  // a name is looked up on recording
      payment_method: method ? method.value : "",
      discount: $("discount").value,
      lines: rows().map(function (row) {
        return {sku: row.querySelector("input[type=hidden]").value,
                quantity: row.querySelector(".desk-qty").value,
                discount: row.querySelector(".desk-disc").value};
      })
    };
  }

  var asked = 0;
  function showTotals(totals) {
    ["gross", "discount", "tax", "total"].forEach(function (k) {
      $("total-" + k).textContent = totals ? totals.text[k] : "";
    });
  }

  function reprice() {
    var body = draft();
    var mine = ++asked;
    $("desk-empty").hidden = body.lines.length > 0;
    if (!body.lines.length) {
      clearErrors();
      showTotals(null);
      $("desk-summary").textContent = T("Nothing to pay yet.");
      return Promise.resolve();
    }
    return send("POST", form.dataset.priceUrl, body).then(function (data) {
      if (mine !== asked) { return; }  // a newer answer is on its way
      clearErrors();
      var all = rows();
      var stock = data.stock || {};
      all.forEach(function (row, n) {
        var sku = row.querySelector("input[type=hidden]").value;
        var line = data._status === 200 ? data.lines[n] : null;
        row.querySelector(".desk-note").textContent = stock[sku] || "";
        row.querySelector(".desk-tax").textContent = line ? line.text.tax : "";
        row.querySelector(".desk-amount").textContent = line ? line.text.amount : "";
        if (line) { row.querySelector(".desk-unit").textContent = line.text.unit_price; }
      });
      if (data._status === 200) {
        showTotals(data.totals);
        $("desk-summary").textContent = data.totals.text.summary;
        return;
      }
      showTotals(null);
      var general = [];
      var fields = data.fields || {};
      Object.keys(fields).forEach(function (key) {
        var m = /^lines\[(\d+)\]\.(sku|quantity|discount)$/.exec(key);
        var input = null;
        if (m && all[+m[1]]) {
          input = all[+m[1]].querySelector(m[2] === "discount" ? ".desk-disc" : ".desk-qty");
        } else if (key === "discount") { input = $("discount"); }
        else if (key === "customer_email") { input = customer; }
        if (input) { setError(input, fields[key]); } else { general.push(fields[key]); }
      });
      if (!Object.keys(fields).length && data.error) { general.push(data.error); }
      $("desk-problem").textContent = general.join(" ");
      $("desk-summary").textContent = T("The total cannot be worked out: check the marked fields.");
    }).catch(function () {
      $("desk-summary").textContent = T("Larder did not answer: the total is not up to date.");
    });
  }

  var timer = null;
  function repriceSoon() { window.clearTimeout(timer); timer = window.setTimeout(reprice, 250); }

  // ---- lines -------------------------------------------------------------------------
  function addProduct(product, scanned) {
    var existing = rows().filter(function (row) {
      return row.querySelector("input[type=hidden]").value === product.sku;
    })[0];
    if (existing) {
      var qty = existing.querySelector(".desk-qty");
      qty.value = String((parseInt(qty.value, 10) || 0) + 1);
      say(product.name + ": " + qty.value);
    } else {
      var row = $("line-template").content.firstElementChild.cloneNode(true);
      var i = nextIndex++;
      row.dataset.index = i;
      row.querySelector("input[type=hidden]").name = "sku" + i;
      row.querySelector("input[type=hidden]").value = product.sku;
      row.querySelector(".desk-name").textContent = product.name;
      row.querySelector(".desk-sku").textContent = product.sku;
      row.querySelector(".desk-unit").textContent = product.price_text;
      [["qty", "Quantity of %(name)s"], ["disc", "Discount on %(name)s"]].forEach(function (pair) {
        var input = row.querySelector("input[name=" + pair[0] + "]");
        input.name = input.id = pair[0] + i;
        var label = input.previousElementSibling;
        label.htmlFor = input.id;
        label.textContent = T(pair[1], {name: product.name});
      });
      row.querySelector(".desk-remove").setAttribute("aria-label", T("Remove %(name)s", {name: product.name}));
      tbody.appendChild(row);
      say(T("Added %(name)s", {name: product.name}));
    }
    if (!scanned) {  // chosen from the list: what was typed is done with
      closeList(find);
      find.value = "";
    }
    setError(find, "");
    return reprice();
  }

  function removeRow(row) {
    var name = row.querySelector(".desk-name").textContent;
    var next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    say(T("Removed %(name)s", {name: name}));
    (next ? next.querySelector(".desk-qty") : find).focus();
    reprice();
  }

  tbody.addEventListener("click", function (event) {
    var button = event.target.closest(".desk-remove");
    if (button) { event.preventDefault(); removeRow(button.closest("tr")); }
  });
  tbody.addEventListener("input", repriceSoon);
  $("discount").addEventListener("input", repriceSoon);
  Array.prototype.forEach.call(form.querySelectorAll("input[name=payment_method]"), function (r) {
    r.addEventListener("change", reprice);
  });

  // ---- comboboxes: products and customers ---------------------------------------------
  function listOf(input) { return $(input.getAttribute("aria-controls")); }
  function closeList(input) {
    var list = listOf(input);
    list.hidden = true;
    list.textContent = "";
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }
  function openList(input, items, label, choose) {
    var list = listOf(input);
    list.textContent = "";
    items.forEach(function (item, n) {
      var li = document.createElement("li");
      li.id = list.id + "-" + n;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.textContent = label(item);
      li.addEventListener("mousedown", function (event) { event.preventDefault(); choose(item); });
      list.appendChild(li);
    });
    list.hidden = !items.length;
    list.choices = items;
    list.choose = choose;
    input.setAttribute("aria-expanded", items.length ? "true" : "false");
    input.removeAttribute("aria-activedescendant");
  }
  function active(input) {
    var id = input.getAttribute("aria-activedescendant");
    var list = listOf(input);
    return id && !list.hidden ? list.choices[+id.split("-").pop()] : null;
  }
  function move(input, step) {
    var list = listOf(input);
    var options = list.querySelectorAll("[role=option]");
    if (list.hidden || !options.length) { return; }
    var id = input.getAttribute("aria-activedescendant");
    var n = id ? +id.split("-").pop() + step : (step > 0 ? 0 : options.length - 1);
    n = (n + options.length) % options.length;
    Array.prototype.forEach.call(options, function (o, k) { o.setAttribute("aria-selected", k === n ? "true" : "false"); });
    input.setAttribute("aria-activedescendant", options[n].id);
  }

  var productLabel = function (p) {
    return p.name + " (" + p.sku + ") " + p.price_text + (p.stock > 0 ? "" : ", " + T("out of stock"));
  };
  function searchProducts(q) {
    return send("GET", form.dataset.productsUrl + "?q=" + encodeURIComponent(q));
  }
  var findTimer = null;
  find.addEventListener("input", function () {
    window.clearTimeout(findTimer);
    var q = find.value.trim();
    if (!q) { closeList(find); return; }
    findTimer = window.setTimeout(function () {
      searchProducts(q).then(function (data) {
        if (find.value.trim() !== q) { return; }
        openList(find, data.products || [], productLabel, addProduct);
        say(T("%(n)s products found", {n: (data.products || []).length}));
      });
    }, 150);
  });

  // Scans can come faster than answers: each Enter takes the code typed so far (the field
  // is free for the next scan at once) and lines are added in the order scanned.
  var queue = Promise.resolve();
  function findEnter() {
    var chosen = active(find);
    if (chosen) { return addProduct(chosen); }
    var q = find.value.trim();
    window.clearTimeout(findTimer);
    if (!q) { return reprice(); }
    find.value = "";
    closeList(find);
    queue = queue.then(function () { return searchProducts(q); }).then(function (data) {
      var found = data.products || [];
      var exact = found.filter(function (p) { return p.sku === data.exact; })[0];
      if (exact || found.length === 1) { return addProduct(exact || found[0], true); }
      if (!find.value) { find.value = q; }
      if (!found.length) {
        setError(find, T("No product matches \u201c%(q)s\u201d.", {q: q}));
        return;
      }
      openList(find, found, productLabel, addProduct);
      move(find, 1);
      say(T("%(n)s products found: choose one with the arrow keys and Enter", {n: found.length}));
    }).catch(function () { find.value = find.value || q; });
    return queue;
  }

  var customerLabel = function (c) { return c.name + " \u2014 " + c.email + (c.city ? ", " + c.city : ""); };
  function chooseCustomer(c) {
    customer.value = c.email;
    closeList(customer);
    setError(customer, "");
    say("Customer: " + c.name);
    reprice();
  }
  var customerTimer = null;
  customer.addEventListener("input", function () {
    window.clearTimeout(customerTimer);
    var q = customer.value.trim();
    if (q.length < 2) { closeList(customer); return; }
    customerTimer = window.setTimeout(function () {
      send("GET", form.dataset.customersUrl + "?q=" + encodeURIComponent(q)).then(function (data) {
        if (customer.value.trim() !== q) { return; }
        openList(customer, data.customers || [], customerLabel, chooseCustomer);
      });
    }, 200);
  });

  function addCustomer() {
    var body = {};
    ["email", "name", "country", "city"].forEach(function (k) { body[k] = $("new_" + k).value; });
    return send("POST", form.dataset.customerUrl, body).then(function (data) {
      ["email", "name", "country", "city"].forEach(function (k) { setError($("new_" + k), ""); });
      if (data._status !== 201) {
        var fields = data.fields || {};
        Object.keys(fields).forEach(function (k) {
          if ($("new_" + k)) { setError($("new_" + k), fields[k].charAt(0).toUpperCase() + fields[k].slice(1)); }
        });
        if (!Object.keys(fields).length) { $("desk-problem").textContent = data.error || ""; }
        return;
      }
      ["email", "name", "country", "city"].forEach(function (k) { $("new_" + k).value = ""; });
      form.querySelector(".desk-new-customer").open = false;
      chooseCustomer({name: data.name || body.name, email: data.email || body.email});
      customer.focus();
    });
  }

  // ---- keys and buttons ----------------------------------------------------------------
  form.addEventListener("keydown", function (event) {
    var target = event.target;
    if (target.getAttribute("role") === "combobox") {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        move(target, event.key === "ArrowDown" ? 1 : -1);
        return;
      }
      if (event.key === "Escape") { closeList(target); return; }
    }
    if (event.key !== "Enter" || target.tagName !== "INPUT") { return; }
    // Enter never submits the sale: it adds, chooses or updates.
    event.preventDefault();
    if (target === find) { findEnter(); }
    else if (target === customer && active(customer)) { chooseCustomer(active(customer)); }
    else if (/^new_/.test(target.name)) { addCustomer(); }
    else { reprice(); }
  });
  $("add").addEventListener("click", function (event) { event.preventDefault(); findEnter(); });
  $("update").addEventListener("click", function (event) { event.preventDefault(); reprice(); });
  $("add-customer").addEventListener("click", function (event) { event.preventDefault(); addCustomer(); });
  find.addEventListener("blur", function () { window.setTimeout(function () { closeList(find); }, 150); });
  customer.addEventListener("blur", function () { window.setTimeout(function () { closeList(customer); }, 150); });
  $("record").addEventListener("click", function (event) {
    if (!rows().length) {
      event.preventDefault();
      setError(find, T("Add at least one product before recording the sale."));
      find.focus();
    }
  });
  form.addEventListener("submit", function () {
    window.setTimeout(function () { $("record").disabled = true; }, 0);  // one click, one sale
  });
  if (rows().length) { reprice(); }
})();
