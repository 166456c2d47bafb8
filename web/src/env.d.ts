/** Stylesheets are bundled by esbuild; importing one is for its side effect. */
declare module '*.css';
