// Click-to-enlarge figures and marked scrollable outputs; added to every page by tools/offline_book.py.
// No library, no network: the full-size view is the same PNG shown at its natural size.
(function () {
  "use strict";

  function closeLightbox() {
    const box = document.querySelector(".book-lightbox");
    if (box) {
      box.remove();
      document.removeEventListener("keydown", onKey);
    }
  }

  function onKey(event) {
    if (event.key === "Escape") {
      closeLightbox();
    }
  }

  function openLightbox(img) {
    closeLightbox();
    const box = document.createElement("div");
    box.className = "book-lightbox";
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-label", "Figure at full size (click or press Escape to close)");
    const big = document.createElement("img");
    big.src = img.currentSrc || img.src;
    big.alt = img.alt;
    if (img.naturalWidth > 0) {
      big.width = img.naturalWidth; // its natural size, even where the window is narrower (the box scrolls)
    }
    box.appendChild(big);
    box.addEventListener("click", closeLightbox);
    document.addEventListener("keydown", onKey);
    document.body.appendChild(box);
  }

  function wrapFigures() {
    document.querySelectorAll(".bd-article img").forEach(function (img) {
      if (img.closest("a")) {
        return; // already a link (e.g. a logo): leave it alone
      }
      const link = document.createElement("a");
      link.className = "book-zoom";
      link.href = img.getAttribute("src");
      link.title = "Click to enlarge";
      img.parentNode.insertBefore(link, img);
      link.appendChild(img);
      link.addEventListener("click", function (event) {
        if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) {
          return; // let the browser open the PNG in a new tab
        }
        event.preventDefault();
        openLightbox(img);
      });
    });
  }

  function markScrollingOutputs() {
    document.querySelectorAll('.cell_output pre, mjx-container[display="true"]').forEach(function (pre) {
      pre.classList.toggle("book-scrolls-x", pre.scrollWidth > pre.clientWidth + 1);
      if (pre.scrollWidth > pre.clientWidth + 1 || pre.scrollHeight > pre.clientHeight + 1) {
        pre.setAttribute("tabindex", "0"); // scrollable by keyboard too
      }
    });
  }

  function start() {
    wrapFigures();
    markScrollingOutputs();
    window.addEventListener("resize", markScrollingOutputs);
    window.addEventListener("load", function () {
      // equations exist only once MathJax has typeset them
      if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
        MathJax.startup.promise.then(markScrollingOutputs);
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
