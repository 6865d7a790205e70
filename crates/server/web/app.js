// The camera list, from the public API.
const list = document.getElementById("cameras");
const reply = await fetch("/api/v1/cameras");
if (reply.ok) {
  const body = await reply.json();
  for (const c of body.cameras ?? []) {
    const li = document.createElement("li");
    li.textContent = `${c.id} (${c.model})`;
    list.append(li);
  }
}
