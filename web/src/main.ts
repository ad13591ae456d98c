import './zt-app.ts';
