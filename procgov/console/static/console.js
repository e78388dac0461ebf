// Actions of every console page: POST /api/… with the session's CSRF token, then show the outcome.
(function () {
  'use strict';
  const csrfNode = document.getElementById('csrf');
  const csrf = csrfNode ? JSON.parse(csrfNode.textContent) : '';

  function say(text, isError) {
    const box = document.getElementById('message');
    box.textContent = text;
    box.className = isError ? 'error' : 'ok';
    box.hidden = false;
  }

  async function act(path, body) {
    const response = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Console-CSRF': csrf },
      body: JSON.stringify(body || {}),
      credentials: 'same-origin',
    });
    let answer = {};
    try { answer = await response.json(); } catch (e) { answer = { error: response.statusText }; }
    if (!response.ok) {
      say(answer.error || response.statusText, true);
      throw new Error(answer.error || response.statusText);
    }
    return answer;
  }

  function onClick(selector, handler) {
    document.querySelectorAll(selector).forEach((button) => button.addEventListener('click', async () => {
      button.disabled = true;
      try { await handler(button); } catch (e) { button.disabled = false; }
    }));
  }

  window.procgovConsole = { act, say };

  onClick('#logout', async () => { await act('/api/logout'); window.location = '/login'; });
  onClick('#claim', async (b) => { await act(`/api/tasks/${b.dataset.key}/claim`); window.location.reload(); });
  onClick('#unclaim', async (b) => { await act(`/api/tasks/${b.dataset.key}/unclaim`); window.location.reload(); });
  onClick('button.retry', async (b) => {
    await act(`/api/incidents/${b.dataset.key}/retry`);
    say('已重试 Retried', false);
    setTimeout(() => window.location.reload(), 300);
  });
  onClick('button.resolve', async (b) => {
    await act(`/api/incidents/${b.dataset.key}/resolve`);
    say('已解决 Resolved', false);
    setTimeout(() => window.location.reload(), 300);
  });
})();
